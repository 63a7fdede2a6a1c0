// Manifest reading and writing: see Manifest.swift.
