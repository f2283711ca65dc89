"""Districts' pure rules: geometry (area, point in polygon), designation rules as dated data,
a district's lifecycle and the contests' entry rules. No I/O."""
