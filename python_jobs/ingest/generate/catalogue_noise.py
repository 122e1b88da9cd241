"""Products that belong to none of the categories, listed under one of them by mistake."""

from __future__ import annotations

from python_jobs.ingest.generate.product_types import ProductType

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
