"""Catalogue categories for lighting: dimmer switches, smart bulbs and ceiling fans."""

from __future__ import annotations

from python_jobs.ingest.generate.product_types import Category, ProductType

LIGHTING_CATEGORIES: tuple[Category, ...] = (
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
)
