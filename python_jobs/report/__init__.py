"""The report: one self-contained HTML file (`segments report`), the segmentation as one JSON document
(`segments report --json`), and what changed since a document read back (`segments report --import FILE`)."""
