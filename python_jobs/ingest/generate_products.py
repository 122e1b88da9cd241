"""Deterministic synthetic product catalogue for `raw.products`.

The product segmentation job (an LLM, or a TF-IDF baseline) groups the products of one category into segments;
to check it, the segments have to be there to find. Every product is drawn from a *product type* of its
category (rotary, slide, smart Wi-Fi, Z-Wave, LED-compatible and 3-way dimmer switches; colour, Zigbee,
Bluetooth, filament, tunable-white and flood smart bulbs; …): a type has its own title phrases, specifications,
price level and description sentences, mentioning wattage, hubs, wiring, ratings and the like, so products of a
type read alike and differ from the other types of the category.

About 5% of the catalogue is *noise*: a product listed under a category it does not belong to (a garden hose
under 'Dimmer Switches'), which the segmentation should set aside as out of scope. A few rows are as careless as
a real catalogue export: the category now and then in another case or padded with spaces (staging keeps the
display spelling and matches on a lower-cased key), a few products without a brand or a description.

`product_truth` tells a test or an evaluation which type (or noise) each product was drawn from; the truth never
reaches the raw table. Loops run over categories and product types, never over rows; the same `(count, seed)`
always gives the same table, from a random stream of its own, so adding products did not change any other table.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from python_jobs.warehouse.raw_tables import RAW_TABLES

FIRST_PRODUCT_ID = 100_001
MIN_PRODUCTS = 300
MAX_PRODUCTS = 20_000
CUSTOMERS_PER_PRODUCT = 10

NOISE_SHARE = 0.05
MESSY_CATEGORY_SHARE = 0.02
MISSING_BRAND_SHARE = 0.02
MISSING_DESCRIPTION_SHARE = 0.01
PRICE_SPREAD = 0.25  # sigma of the log price around the type's median

# The products' random stream: a spawn key no stream of `generate_commerce` uses (they are 0, 1, 2, ...).
_PRODUCTS_STREAM_KEY = 0x70726F64  # "prod"

# Sentences any product's description may end with.
_CLOSINGS = (
    "Backed by a 1-year limited warranty.",
    "Backed by a 2-year limited warranty.",
    "Ships in recyclable, frustration-free packaging.",
    "Customer support available 7 days a week.",
    "Free returns within 30 days.",
)


@dataclass(frozen=True)
class ProductType:
    """A natural sub-type of a category: what its titles say, what it costs, how it is described."""

    key: str
    phrases: tuple[str, ...]  # what the product is, e.g. "Rotary Dimmer Switch"
    specs: tuple[str, ...]  # the specification after the comma in the title
    details: tuple[str, ...]  # description sentences; two of them describe each product
    median_price: float
    brands: tuple[str, ...] = ()  # noise types bring their own brands; category types use the category's


@dataclass(frozen=True)
class Category:
    name: str
    share: float
    brands: tuple[str, ...]
    types: tuple[ProductType, ...]


CATEGORIES: tuple[Category, ...] = (
    Category(
        name="Dimmer Switches",
        share=0.20,
        brands=("Lumenwell", "Voltaris", "Brightline", "Helio Controls", "Caspian Electric", "Northgate"),
        types=(
            ProductType(
                key="rotary",
                phrases=("Rotary Dimmer Switch", "Single-Pole Rotary Dimmer", "Push On/Off Rotary Dimmer"),
                specs=("600W Incandescent/Halogen", "1000W Incandescent", "150W LED/CFL, 600W Incandescent"),
                details=(
                    "Classic rotary knob: turn to dim, push to switch the light on and off.",
                    "Fits a standard single-gang wall box; knob and wallplate included.",
                    "For dimmable incandescent and halogen bulbs up to the rated wattage.",
                    "Simple mechanical design with no programming or app.",
                ),
                median_price=14.0,
            ),
            ProductType(
                key="slide",
                phrases=(
                    "Slide Dimmer Switch",
                    "Decorator Slide Dimmer with Preset",
                    "Single-Pole Slide Dimmer",
                ),
                specs=("600W Incandescent", "250W LED/CFL", "1000W, Large Faceplate"),
                details=(
                    "A smooth vertical slider sets the light level; the rocker switches on at the preset.",
                    "Decorator-style paddle fits standard Decora wallplates.",
                    "Slide to the level you like and it stays there the next time you switch on.",
                    "Locator light glows softly so the switch is easy to find in the dark.",
                ),
                median_price=22.0,
            ),
            ProductType(
                key="smart_wifi",
                phrases=(
                    "Smart Wi-Fi Dimmer Switch",
                    "Wi-Fi Smart Dimmer, No Hub Required",
                    "Smart In-Wall Dimmer",
                ),
                specs=(
                    "2.4 GHz Wi-Fi, Neutral Wire Required",
                    "Works with Alexa and Google Assistant",
                    "App Control, Schedules",
                ),
                details=(
                    "Dim from the app, set schedules and scenes, or ask Alexa or Google Assistant.",
                    "Connects straight to 2.4 GHz Wi-Fi: no hub or bridge required.",
                    "Requires a neutral wire in the wall box.",
                    "Away mode switches the lights at random times while you are out.",
                ),
                median_price=35.0,
            ),
            ProductType(
                key="zwave",
                phrases=(
                    "Z-Wave Plus In-Wall Dimmer",
                    "Z-Wave Smart Dimmer Switch",
                    "Z-Wave 800 Series Dimmer",
                ),
                specs=(
                    "Z-Wave Hub Required",
                    "S2 Security, Signal Repeater",
                    "Works with SmartThings and Hubitat",
                ),
                details=(
                    "Z-Wave Plus mesh device that also repeats the signal for your other Z-Wave devices.",
                    "Requires a compatible Z-Wave hub such as SmartThings, Hubitat or Home Assistant.",
                    "Supports S2 security and scene control by double tap.",
                    "Local control through the hub keeps working when the internet is down.",
                ),
                median_price=42.0,
            ),
            ProductType(
                key="led_compatible",
                phrases=(
                    "LED Dimmer Switch",
                    "CL Dimmer for Dimmable LED and CFL",
                    "Trailing-Edge LED Dimmer",
                ),
                specs=("150W LED/CFL", "Adjustable Low-End Trim", "Flicker-Free, 250W LED"),
                details=(
                    "Made for dimmable LED and CFL bulbs: the adjustable low-end trim stops flicker and buzz.",
                    "Trailing-edge (ELV) design for smooth, silent dimming of LED loads.",
                    "Dims LED bulbs all the way down without the shimmer of older dimmers.",
                    "Compatible with most dimmable LED retrofit bulbs and downlights.",
                ),
                median_price=26.0,
            ),
            ProductType(
                key="multi_location",
                phrases=("3-Way Dimmer Switch", "Multi-Location Dimmer", "Single-Pole/3-Way Dimmer Kit"),
                specs=("Single-Pole or 3-Way", "Control from up to 3 Locations", "Includes Companion Switch"),
                details=(
                    "Dims one light from two or more places, such as the top and the bottom of a staircase.",
                    "Works as a single-pole or a 3-way dimmer; add companion switches for more locations.",
                    "Replaces the existing 3-way switch; no new wiring between locations.",
                    "Ideal for hallways, stairs and rooms with two doors.",
                ),
                median_price=32.0,
            ),
        ),
    ),
    Category(
        name="Smart Bulbs",
        share=0.20,
        brands=("Glowpoint", "Luma Home", "Brightwell", "Nuvo Light", "Kestrel", "Aurelia"),
        types=(
            ProductType(
                key="color_wifi",
                phrases=(
                    "Smart Wi-Fi LED Bulb, Color Changing",
                    "RGBW Smart Bulb",
                    "Wi-Fi Color Smart Light Bulb",
                ),
                specs=(
                    "A19, 60W Equivalent",
                    "A19, 800 Lumens, 16 Million Colors",
                    "BR30, 65W Equivalent, 2-Pack",
                ),
                details=(
                    "Sixteen million colors plus tunable whites, from the app or by voice.",
                    "Connects directly to Wi-Fi with no hub; works with Alexa and Google Assistant.",
                    "Music sync and party scenes make the room change color with the beat.",
                    "Group bulbs by room and set color scenes for movie night.",
                ),
                median_price=16.0,
            ),
            ProductType(
                key="zigbee_white",
                phrases=("Zigbee Smart Bulb, Soft White", "Zigbee LED Bulb", "Smart Bulb for Zigbee Hubs"),
                specs=("A19, 2700K", "E26, 800 Lumens, Hub Required", "A19, Dimmable White, 4-Pack"),
                details=(
                    "Zigbee 3.0 bulb: requires a compatible hub or bridge.",
                    "Warm 2700K soft white, dimmable from the app or a Zigbee remote.",
                    "Adds to an existing Zigbee network and strengthens the mesh.",
                    "No Wi-Fi load on your router: the hub talks to the bulbs.",
                ),
                median_price=12.0,
            ),
            ProductType(
                key="bluetooth",
                phrases=(
                    "Bluetooth Smart Bulb",
                    "Bluetooth Mesh LED Bulb",
                    "Smart Bulb with Bluetooth Control",
                ),
                specs=("A19, No Wi-Fi Needed", "E26, Control within 30 ft", "A19, Color and White"),
                details=(
                    "Pairs with your phone over Bluetooth: no Wi-Fi network or hub required.",
                    "Best for a single room; control range about 30 feet.",
                    "Set up in seconds with the app, no account needed.",
                    "Bluetooth mesh lets nearby bulbs relay commands to each other.",
                ),
                median_price=10.0,
            ),
            ProductType(
                key="filament",
                phrases=(
                    "Smart Vintage Edison Filament Bulb",
                    "Smart Filament LED Bulb, Amber Glass",
                    "Wi-Fi Edison Style Smart Bulb",
                ),
                specs=("ST64, 2200K", "G25 Globe, Dimmable", "ST19, 40W Equivalent"),
                details=(
                    "Vintage look with visible LED filaments behind amber glass.",
                    "Warm 2000K to 2200K glow that dims down to candlelight.",
                    "Made for exposed-bulb pendants, sconces and string fixtures.",
                    "Retro Edison shape with the efficiency of LED.",
                ),
                median_price=18.0,
            ),
            ProductType(
                key="tunable_white",
                phrases=(
                    "Tunable White Smart Bulb",
                    "Smart LED Bulb, Adjustable Color Temperature",
                    "Circadian Smart Bulb",
                ),
                specs=("A19, 2700K-6500K", "BR30, 2200K-6500K", "A21, 100W Equivalent"),
                details=(
                    "Adjust the white from warm 2700K to crisp 6500K daylight.",
                    "Circadian schedules shift the color temperature through the day.",
                    "Cool white for focus in the morning, warm white to wind down at night.",
                    "High CRI 90+ renders colors naturally.",
                ),
                median_price=14.0,
            ),
            ProductType(
                key="outdoor_flood",
                phrases=(
                    "Outdoor Smart Flood Light Bulb",
                    "PAR38 Smart Floodlight Bulb",
                    "Weatherproof Smart Flood Bulb",
                ),
                specs=("PAR38, 90W Equivalent, IP65", "BR30, Wet Rated", "PAR38, Color, 1300 Lumens"),
                details=(
                    "Rated for wet locations: IP65 for exposed porch and yard fixtures.",
                    "Wide-beam floodlight for security and landscape lighting.",
                    "Sunset-to-sunrise schedules switch the yard lights automatically.",
                    "Withstands rain, frost and summer heat from -4 to 113 degrees F.",
                ),
                median_price=26.0,
            ),
        ),
    ),
    Category(
        name="Ceiling Fans",
        share=0.15,
        brands=("Breezewood", "Aerocasa", "Harbor Air", "Windmere Home", "Cyclone & Co", "Stillwater"),
        types=(
            ProductType(
                key="indoor_with_light",
                phrases=(
                    "Ceiling Fan with LED Light Kit",
                    "Indoor Ceiling Fan with Light and Remote",
                    "Ceiling Fan with Dimmable Light",
                ),
                specs=("52 in, 5 Blades", "44 in, Brushed Nickel", "48 in, Matte Black"),
                details=(
                    "Integrated dimmable LED light kit, 3000K warm white.",
                    "Reversible motor for summer and winter use; three speeds.",
                    "Handheld remote controls the fan speed and the light.",
                    "Fits bedrooms and living rooms up to 350 square feet.",
                ),
                median_price=150.0,
            ),
            ProductType(
                key="outdoor",
                phrases=(
                    "Outdoor Ceiling Fan, Wet Rated",
                    "Damp Rated Patio Ceiling Fan",
                    "Outdoor Ceiling Fan for Porch and Gazebo",
                ),
                specs=("52 in, UL Wet Rated", "60 in, ABS Blades", "44 in, Rust-Resistant Finish"),
                details=(
                    "UL wet rated for covered and open patios, porches and gazebos.",
                    "All-weather ABS blades will not warp or sag in humidity.",
                    "Rust-resistant housing and stainless hardware for coastal climates.",
                    "Sealed motor keeps working through rain and salt air.",
                ),
                median_price=180.0,
            ),
            ProductType(
                key="low_profile",
                phrases=(
                    "Low Profile Flush Mount Ceiling Fan",
                    "Hugger Ceiling Fan",
                    "Flush Mount Ceiling Fan",
                ),
                specs=("42 in", "44 in, with Light", "36 in, Compact"),
                details=(
                    "Mounts flush against the ceiling for rooms with ceilings under 8 feet.",
                    "Hugger design with no downrod keeps blades clear of tall heads.",
                    "Made for low ceilings in bedrooms, basements and kids' rooms.",
                    "Compact body sits less than 10 inches from the ceiling.",
                ),
                median_price=120.0,
            ),
            ProductType(
                key="smart",
                phrases=(
                    "Smart Ceiling Fan with Wi-Fi",
                    "Wi-Fi Ceiling Fan, App and Voice Control",
                    "Smart DC Ceiling Fan",
                ),
                specs=(
                    "52 in, Works with Alexa",
                    "56 in, DC Motor, 6 Speeds",
                    "60 in, Google Home Compatible",
                ),
                details=(
                    "Control speed and light from the app or by voice, with schedules and away mode.",
                    "Quiet DC motor with six speeds and a natural breeze mode.",
                    "Connects to 2.4 GHz Wi-Fi; no hub required.",
                    "Works with Alexa, Google Assistant and SmartThings routines.",
                ),
                median_price=260.0,
            ),
            ProductType(
                key="large_room",
                phrases=(
                    "Industrial Ceiling Fan",
                    "Large Room DC Ceiling Fan",
                    "Great Room Ceiling Fan, 8 Blades",
                ),
                specs=("72 in, DC Motor", "84 in, Downrod Included", "96 in, 8 Blades"),
                details=(
                    "Moves up to 12,000 CFM of air for great rooms, lofts and garages.",
                    "Energy-efficient DC motor uses up to 70% less energy than an AC motor.",
                    "Oversized blades for vaulted ceilings; extended downrod included.",
                    "Commercial-grade build for warehouses, barns and workshops.",
                ),
                median_price=380.0,
            ),
        ),
    ),
    Category(
        name="Power Strips",
        share=0.15,
        brands=("Ampwell", "Surgeon Power", "Voltaris", "Gridline", "Chargewise", "Ironhold"),
        types=(
            ProductType(
                key="surge_protector",
                phrases=(
                    "Surge Protector Power Strip",
                    "Surge Protector with 12 Outlets",
                    "Heavy Duty Surge Protector",
                ),
                specs=(
                    "6 Outlets, 6 ft Cord, 2700 Joules",
                    "12 Outlets, 4320 Joules",
                    "8 Outlets, 1800 Joules",
                ),
                details=(
                    "High joule rating protects computers and TVs from power surges and spikes.",
                    "UL 1449 listed, with a protection indicator light.",
                    "Connected equipment warranty covers devices damaged by a surge.",
                    "Automatic shutdown when protection is used up.",
                ),
                median_price=25.0,
            ),
            ProductType(
                key="smart",
                phrases=(
                    "Smart Power Strip with Wi-Fi",
                    "Wi-Fi Smart Plug Power Strip",
                    "Smart Surge Protector",
                ),
                specs=(
                    "4 Smart Outlets, 4 USB",
                    "Works with Alexa and Google",
                    "3 Smart Outlets, Energy Monitoring",
                ),
                details=(
                    "Switch each outlet separately from the app, with timers and schedules.",
                    "Energy monitoring shows how much power each outlet draws.",
                    "Voice control with Alexa and Google Assistant; no hub needed.",
                    "Turns off standby devices on a schedule to save power.",
                ),
                median_price=35.0,
            ),
            ProductType(
                key="usb_charging",
                phrases=(
                    "USB Charging Station Power Strip",
                    "Power Strip with USB-C",
                    "Desktop Charging Station",
                ),
                specs=("4 AC Outlets, 3 USB-A, 1 USB-C", "65W USB-C Power Delivery", "Flat Plug, 5 ft Cord"),
                details=(
                    "Charges phones, tablets and laptops next to your AC devices.",
                    "USB-C Power Delivery fast-charges a laptop at up to 65W.",
                    "Smart charging ports detect each device and deliver the right current.",
                    "Slim desktop design with a flat plug that sits close to the wall.",
                ),
                median_price=28.0,
            ),
            ProductType(
                key="heavy_duty_metal",
                phrases=("Metal Power Strip, Heavy Duty", "Workshop Power Strip", "Industrial Power Strip"),
                specs=("10 Outlets, 15A, 15 ft Cord", "6 Outlets, 14 AWG Cord", "Rackmount 1U, 8 Outlets"),
                details=(
                    "Rugged steel housing for garages, workbenches and shops.",
                    "Mounting brackets screw it to a bench or a wall.",
                    "Heavy 14-gauge cord carries a full 15 amps for power tools.",
                    "Built to survive drops, sawdust and daily abuse.",
                ),
                median_price=45.0,
            ),
            ProductType(
                key="outdoor",
                phrases=(
                    "Outdoor Power Strip, Weatherproof",
                    "Outdoor Power Stake",
                    "Weatherproof Outdoor Surge Protector",
                ),
                specs=("6 Outlets, IP44", "Remote Control, 3 Outlets", "Photocell Timer, 6 Outlets"),
                details=(
                    "Weather-resistant outlet covers for holiday lights and garden use.",
                    "Stake it in the lawn to power landscape lighting and fountains.",
                    "Dusk-to-dawn photocell switches the lights on at sunset.",
                    "Rated for outdoor use in rain and snow.",
                ),
                median_price=30.0,
            ),
            ProductType(
                key="travel",
                phrases=(
                    "Travel Power Strip",
                    "Compact Travel Power Strip with USB",
                    "Cruise Power Strip, Non-Surge",
                ),
                specs=("3 Outlets, 3 USB", "Flat Plug, 1 ft Cord", "Wrap-Around Cord"),
                details=(
                    "Pocket-sized for hotel rooms and airport gates.",
                    "No surge protection, so it is approved for cruise ships.",
                    "Turns one hotel outlet into three outlets and three USB ports.",
                    "Cord wraps around the body for packing.",
                ),
                median_price=18.0,
            ),
        ),
    ),
    Category(
        name="Door Locks",
        share=0.15,
        brands=("Keystone Secure", "Bolthaven", "Guardian Lockworks", "Latchly", "Ironhold", "Sentinel Home"),
        types=(
            ProductType(
                key="smart_wifi",
                phrases=("Smart Wi-Fi Deadbolt", "Smart Lock with Built-In Wi-Fi", "Wi-Fi Smart Door Lock"),
                specs=("Keyless Entry, App Control", "Auto-Lock, Works with Alexa", "Satin Nickel"),
                details=(
                    "Lock and unlock from anywhere with the app, and share access with guests.",
                    "Built-in Wi-Fi, no hub or bridge required.",
                    "Auto-lock and auto-unlock as you leave and arrive.",
                    "Activity log shows who came and went.",
                ),
                median_price=190.0,
            ),
            ProductType(
                key="keypad",
                phrases=("Keypad Deadbolt", "Electronic Keypad Door Lock", "Keyless Entry Keypad Deadbolt"),
                specs=(
                    "Backlit Keypad, 30 User Codes",
                    "ANSI Grade 2, Satin Nickel",
                    "Touchscreen, Matte Black",
                ),
                details=(
                    "Enter a code to unlock: no keys to lose or hide under the mat.",
                    "Runs on four AA batteries with a low-battery warning.",
                    "Up to 30 user codes, with one-time codes for visitors.",
                    "Backlit keys are easy to read at night.",
                ),
                median_price=90.0,
            ),
            ProductType(
                key="fingerprint",
                phrases=("Fingerprint Smart Lock", "Biometric Door Lock", "Fingerprint Deadbolt with Keypad"),
                specs=("Stores 100 Fingerprints", "0.3 s Recognition", "Backup Key Included"),
                details=(
                    "Unlocks with a fingerprint in under half a second.",
                    "Biometric sensor stores up to 100 fingerprints for the whole family.",
                    "Keypad and backup key when a finger will not do.",
                    "Sensor learns your fingerprint better with every use.",
                ),
                median_price=140.0,
            ),
            ProductType(
                key="keyed_deadbolt",
                phrases=(
                    "Single Cylinder Deadbolt",
                    "Double Cylinder Deadbolt",
                    "Keyed Deadbolt, ANSI Grade 1",
                ),
                specs=("Satin Nickel, 2 Keys", "Antique Brass", "Re-Key Technology"),
                details=(
                    "Traditional keyed deadbolt with a hardened steel bolt.",
                    "ANSI Grade 1 security, tested against picking and bumping.",
                    "Re-key it yourself in seconds with the included tool.",
                    "Fits standard door preparations, 2-3/8 in or 2-3/4 in backset.",
                ),
                median_price=30.0,
            ),
            ProductType(
                key="lever_handle",
                phrases=("Entry Door Lever Set", "Privacy Door Lever", "Passage Lever Handle"),
                specs=(
                    "Keyed Entry, Satin Nickel",
                    "Bed/Bath Privacy, Matte Black",
                    "Hall/Closet Passage, Oil-Rubbed Bronze",
                ),
                details=(
                    "Lever handle for interior or entry doors, reversible for left- or right-handed doors.",
                    "Privacy function locks with a push button from the inside.",
                    "Easy to grip and ADA compliant.",
                    "Installs with a screwdriver in about ten minutes.",
                ),
                median_price=28.0,
            ),
            ProductType(
                key="zwave",
                phrases=("Z-Wave Plus Smart Deadbolt", "Z-Wave Keypad Lock", "Z-Wave Touchscreen Deadbolt"),
                specs=("Z-Wave Hub Required", "S2 Security", "Works with SmartThings"),
                details=(
                    "Z-Wave Plus lock: requires a compatible Z-Wave hub.",
                    "S2 security encrypts every command between the hub and the lock.",
                    "Integrates with alarm systems and Home Assistant automations.",
                    "Long battery life from low-power Z-Wave radio.",
                ),
                median_price=170.0,
            ),
        ),
    ),
    Category(
        name="Thermostats",
        share=0.15,
        brands=("Climatrix", "Thermalis", "Evenheat", "Northgate", "Comfortline", "Aurelia"),
        types=(
            ProductType(
                key="smart_learning",
                phrases=(
                    "Smart Learning Thermostat",
                    "Wi-Fi Smart Thermostat with Room Sensor",
                    "Smart Thermostat, ENERGY STAR Certified",
                ),
                specs=("C-Wire Required", "Includes Remote Sensor", "Works with Alexa"),
                details=(
                    "Learns your schedule and adjusts itself to save energy.",
                    "Control the temperature from anywhere with the app.",
                    "Remote room sensors balance hot and cold spots.",
                    "Monthly energy reports show where you can save.",
                ),
                median_price=200.0,
            ),
            ProductType(
                key="programmable",
                phrases=(
                    "7-Day Programmable Thermostat",
                    "5-2 Day Programmable Thermostat",
                    "Programmable Digital Thermostat",
                ),
                specs=(
                    "Large Backlit Display",
                    "Battery Powered, 4 Periods per Day",
                    "Heat/Cool, Auto Changeover",
                ),
                details=(
                    "Up to four periods a day, with separate weekday and weekend schedules.",
                    "Program it once and it follows your week.",
                    "Large backlit display shows the set and room temperatures.",
                    "Works with most 24V heating and cooling systems.",
                ),
                median_price=45.0,
            ),
            ProductType(
                key="non_programmable",
                phrases=(
                    "Non-Programmable Digital Thermostat",
                    "Basic Digital Thermostat",
                    "Single Stage Thermostat",
                ),
                specs=("1 Heat/1 Cool", "Battery Powered", "Easy-to-Read Display"),
                details=(
                    "Simple to use: set a temperature and it holds it, with no schedule to program.",
                    "Single-stage heat and cool for most 24V systems.",
                    "Precise to plus or minus one degree.",
                    "A straightforward replacement for an old thermostat.",
                ),
                median_price=25.0,
            ),
            ProductType(
                key="line_voltage",
                phrases=(
                    "Line Voltage Thermostat",
                    "Baseboard Heater Thermostat",
                    "Electric Heat Thermostat",
                ),
                specs=("120/240V, 16A", "Double Pole, 240V", "Programmable, 3600W"),
                details=(
                    "For electric baseboard heaters and fan-forced wall heaters; not for central HVAC.",
                    "Switches up to 16 amps at 120V or 240V.",
                    "Double-pole switching cuts both lines in the off position.",
                    "Quiet electronic relay, no clicking.",
                ),
                median_price=40.0,
            ),
            ProductType(
                key="mechanical",
                phrases=("Mechanical Thermostat", "Dial Thermostat", "Bimetal Mechanical Thermostat"),
                specs=("Heat Only, No Batteries", "Round Dial", "Millivolt, for Gas Wall Furnaces"),
                details=(
                    "No batteries and no power wiring: a bimetal coil switches the heat.",
                    "Turn the dial to the temperature you want.",
                    "Millivolt compatible for gas wall furnaces and fireplaces.",
                    "Analog design that lasts for decades.",
                ),
                median_price=20.0,
            ),
        ),
    ),
)

# Products that belong to none of the categories; listed under one of them by mistake.
NOISE_TYPES: tuple[ProductType, ...] = (
    ProductType(
        key="garden_hose",
        phrases=("Expandable Garden Hose", "Heavy Duty Garden Hose"),
        specs=("50 ft, 10-Pattern Spray Nozzle", "100 ft, Kink-Free", "75 ft, Brass Fittings"),
        details=(
            "Expands to three times its length when the water is on.",
            "Includes a spray nozzle with ten watering patterns.",
            "Lightweight and easy to store on a hose reel.",
        ),
        median_price=35.0,
        brands=("GreenThumb", "Yardly"),
    ),
    ProductType(
        key="yoga_mat",
        phrases=("Non-Slip Yoga Mat", "Exercise Yoga Mat"),
        specs=("6 mm, with Carrying Strap", "72 x 24 in", "Extra Thick, 10 mm"),
        details=(
            "Textured non-slip surface for a steady grip in every pose.",
            "Cushioned support for knees and joints.",
            "Free of latex and phthalates; wipes clean.",
        ),
        median_price=25.0,
        brands=("Zenflex", "Asana Co"),
    ),
    ProductType(
        key="coffee_grinder",
        phrases=("Burr Coffee Grinder", "Electric Coffee Bean Grinder"),
        specs=("18 Grind Settings", "Stainless Steel, 12 Cups", "Conical Burr"),
        details=(
            "Grinds beans evenly from espresso-fine to French-press coarse.",
            "Removable chamber makes cleaning easy.",
            "Freshly ground coffee for up to twelve cups.",
        ),
        median_price=45.0,
        brands=("Brewmaster", "Bean & Burr"),
    ),
    ProductType(
        key="dog_leash",
        phrases=("Reflective Dog Leash", "Retractable Dog Leash"),
        specs=("6 ft, Padded Handle", "16 ft, for Dogs up to 110 lb", "Nylon, Medium"),
        details=(
            "Reflective stitching keeps you seen on evening walks.",
            "Padded handle is comfortable for strong pullers.",
            "Sturdy clip attaches to any collar or harness.",
        ),
        median_price=15.0,
        brands=("Pawtrail", "Good Boy Gear"),
    ),
    ProductType(
        key="knife_set",
        phrases=("Kitchen Knife Set with Block", "Chef Knife Set"),
        specs=("15 Pieces, Stainless Steel", "8 Pieces, German Steel", "With Sharpener"),
        details=(
            "High-carbon stainless blades stay sharp for longer.",
            "Hardwood block keeps every knife within reach.",
            "Full-tang handles are balanced and comfortable.",
        ),
        median_price=80.0,
        brands=("Edgecraft", "Chopwell"),
    ),
    ProductType(
        key="bath_towels",
        phrases=("Cotton Bath Towel Set", "Luxury Bath Towels"),
        specs=("6 Pieces, 600 GSM", "4 Pack, Quick Dry", "Turkish Cotton, White"),
        details=(
            "Soft, absorbent 100% cotton loops.",
            "Machine washable and gets softer with every wash.",
            "Set includes bath towels, hand towels and washcloths.",
        ),
        median_price=30.0,
        brands=("Softhaven", "Linenly"),
    ),
    ProductType(
        key="paint_roller",
        phrases=("Paint Roller Kit", "Paint Roller and Tray Set"),
        specs=("9 in, 10 Pieces", "With Extension Pole", "Microfiber Covers"),
        details=(
            "Everything you need to paint a room: roller, tray, covers and brushes.",
            "Microfiber covers hold more paint for fewer dips.",
            "Extension pole reaches ceilings without a ladder.",
        ),
        median_price=22.0,
        brands=("Coatwell", "ProPaint"),
    ),
    ProductType(
        key="water_bottle",
        phrases=("Insulated Water Bottle", "Stainless Steel Water Bottle"),
        specs=("32 oz, Straw Lid", "24 oz, Leak-Proof", "40 oz, Powder Coated"),
        details=(
            "Double-wall vacuum insulation keeps drinks cold for 24 hours.",
            "Leak-proof lid fits in any bag.",
            "BPA-free and dishwasher safe.",
        ),
        median_price=25.0,
        brands=("Hydrapeak", "Trailflask"),
    ),
)

CATEGORY_NAMES: tuple[str, ...] = tuple(category.name for category in CATEGORIES)


def product_count(customers: int) -> int:
    """How many products `segments generate` writes for `customers` customers."""
    return max(MIN_PRODUCTS, min(customers // CUSTOMERS_PER_PRODUCT, MAX_PRODUCTS))


@dataclass(frozen=True)
class ProductTruth:
    """What each product really is, row for row with the generated table; never written to the warehouse."""

    category: np.ndarray  # the category it is listed under (clean spelling)
    product_type: np.ndarray  # the type it was drawn from: a key of its category's types, or a noise key
    is_noise: np.ndarray  # listed under a category it does not belong to


def _rng(seed: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(_PRODUCTS_STREAM_KEY,)))


def _quotas(shares: Sequence[float], total: int) -> np.ndarray:
    """Exact counts by largest remainder, so the mix matches the shares at any size."""
    shares = np.asarray(shares, dtype=float) / sum(shares)
    quotas = np.floor(shares * total).astype(np.int64)
    remainders = shares * total - quotas
    quotas[np.argsort(-remainders, kind="stable")[: total - quotas.sum()]] += 1
    return quotas


@dataclass(frozen=True)
class _Kind:
    """A product type as drawn: the type and the brands it is sold under."""

    category_code: int  # the category it belongs to; -1 for noise
    type: ProductType
    brands: tuple[str, ...]


def _kinds() -> list[_Kind]:
    kinds = [
        _Kind(code, product_type, category.brands)
        for code, category in enumerate(CATEGORIES)
        for product_type in category.types
    ]
    kinds += [_Kind(-1, product_type, product_type.brands) for product_type in NOISE_TYPES]
    return kinds


def _pick(rng: np.random.Generator, options: Sequence[str], size: int) -> pa.Array:
    return pa.array(options).take(pa.array(rng.integers(0, len(options), size=size)))


def _describe(rng: np.random.Generator, details: Sequence[str], size: int) -> pa.Array:
    """Two different detail sentences of the type, then a closing sentence any product may carry."""
    first = rng.integers(0, len(details), size=size)
    second = (first + rng.integers(1, len(details), size=size)) % len(details)
    sentences = pa.array(details)
    return pc.binary_join_element_wise(
        sentences.take(pa.array(first)),
        sentences.take(pa.array(second)),
        _pick(rng, _CLOSINGS, size),
        " ",
    )


def _prices(rng: np.random.Generator, median: float, size: int) -> np.ndarray:
    """Shop prices around the type's median: whole amounts ending in .99 (or .49 under 10)."""
    raw = median * rng.lognormal(0.0, PRICE_SPREAD, size=size)
    cents = np.where(raw < 10, 0.51, 0.01)
    return np.round(np.maximum(np.round(raw), 1.0) - cents, 2)


def _kind_rows(rng: np.random.Generator, kind: _Kind, size: int) -> dict[str, pa.Array]:
    product_type = kind.type
    brand = _pick(rng, kind.brands, size)
    title = pc.binary_join_element_wise(
        brand,
        " ",
        _pick(rng, product_type.phrases, size),
        ", ",
        _pick(rng, product_type.specs, size),
        "",
    )
    return {
        "title": title,
        "brand": brand,
        "price": pa.array(_prices(rng, product_type.median_price, size)),
        "description": _describe(rng, product_type.details, size),
    }


def _messy_categories(rng: np.random.Generator, codes: np.ndarray) -> pa.Array:
    """Category names as a careless export writes them: now and then lower or upper case, or padded."""
    spellings = (
        lambda name: name,
        str.lower,
        str.upper,
        lambda name: f" {name}",
        lambda name: f"{name} ",
    )
    table = pa.array([spell(name) for name in CATEGORY_NAMES for spell in spellings])
    is_messy = rng.random(len(codes)) < MESSY_CATEGORY_SHARE
    variant = np.where(is_messy, rng.integers(1, len(spellings), size=len(codes)), 0)
    return table.take(pa.array(codes * len(spellings) + variant))


def _with_nulls(rng: np.random.Generator, values: pa.Array, share: float) -> pa.Array:
    is_null = rng.random(len(values)) < share
    return pc.if_else(pa.array(is_null), pa.scalar(None, values.type), values)


def generate_products_with_truth(count: int, seed: int = 42) -> tuple[pa.Table, ProductTruth]:
    """`count` products and what each really is; the same arguments always give the same data."""
    if count < 1:
        raise ValueError(f"count must be at least 1, got {count}")
    rng = _rng(seed)
    kinds = _kinds()

    # Which category each product is listed under: exact quotas, in random order.
    listed = rng.permutation(
        np.repeat(np.arange(len(CATEGORIES)), _quotas([c.share for c in CATEGORIES], count))
    )
    # Which kind it really is: a type of its category, or, for an exact 5%, a noise product.
    kind_of_type = {(kind.category_code, kind.type.key): index for index, kind in enumerate(kinds)}
    kind = np.empty(count, dtype=np.int64)
    for code, category in enumerate(CATEGORIES):
        rows = np.flatnonzero(listed == code)
        type_kinds = np.array([kind_of_type[(code, t.key)] for t in category.types])
        kind[rows] = type_kinds[rng.integers(0, len(type_kinds), size=len(rows))]
    noise_kinds = np.array([i for i, k in enumerate(kinds) if k.category_code == -1])
    is_noise = np.zeros(count, dtype=bool)
    is_noise[rng.choice(count, size=round(NOISE_SHARE * count), replace=False)] = True
    kind[is_noise] = noise_kinds[rng.integers(0, len(noise_kinds), size=int(is_noise.sum()))]

    # The text and prices, one kind at a time, then put back in row order.
    order = np.argsort(kind, kind="stable")
    counts = np.bincount(kind, minlength=len(kinds))
    chunks = [_kind_rows(rng, kinds[k], int(counts[k])) for k in range(len(kinds)) if counts[k]]
    back = pa.array(np.argsort(order, kind="stable"))
    columns = {
        name: pa.concat_arrays([chunk[name] for chunk in chunks]).take(back)
        for name in ("title", "brand", "price", "description")
    }

    schema = RAW_TABLES["products"]
    table = pa.Table.from_arrays(
        [
            pa.array(np.arange(FIRST_PRODUCT_ID, FIRST_PRODUCT_ID + count), pa.int64()),
            columns["title"],
            _messy_categories(rng, listed),
            _with_nulls(rng, columns["brand"], MISSING_BRAND_SHARE),
            columns["price"],
            _with_nulls(rng, columns["description"], MISSING_DESCRIPTION_SHARE),
        ],
        schema=schema,
    )
    truth = ProductTruth(
        category=np.array(CATEGORY_NAMES)[listed],
        product_type=np.array([k.type.key for k in kinds])[kind],
        is_noise=is_noise,
    )
    return table, truth


def generate_products(count: int, seed: int = 42) -> pa.Table:
    """The `raw.products` table of `count` products."""
    return generate_products_with_truth(count, seed)[0]


def product_truth(count: int, seed: int = 42) -> ProductTruth:
    """What each product of `generate_products(count, seed)` really is, row for row."""
    return generate_products_with_truth(count, seed)[1]
