"""Catalogue categories for the rest of the home: power strips, door locks and thermostats."""

from __future__ import annotations

from python_jobs.ingest.generate.product_types import Category, ProductType

HOME_CATEGORIES: tuple[Category, ...] = (
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
