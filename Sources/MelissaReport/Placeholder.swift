// HTML/SVG study report (filled in by issue 3).
