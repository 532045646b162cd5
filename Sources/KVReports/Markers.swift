import Foundation

/// Marker shapes, so that a chart reads in greyscale: each engine (or bar series) has a shape as
/// well as a colour, drawn on its points, on its bars and in the legend.
enum MarkerShape: CaseIterable {
    case circle, square, triangle, diamond, triangleDown, hexagon, star, cross

    /// A fixed shape per known engine, so that every chart agrees; others by position.
    static func forEngine(_ engine: String, index: Int) -> MarkerShape {
        let known: [String: MarkerShape] = [
            "lsm": .circle, "rocksdb": .square, "btree": .triangle, "lmdb": .diamond, "null": .cross,
            "leveldb": .triangleDown, "sqlite": .hexagon, "wiredtiger": .star, "wiredtiger-lsm": .cross,
        ]
        return known[engine] ?? allCases[index % allCases.count]
    }

    /// The shape of the `index`-th series of a bar chart.
    static func forSeries(_ index: Int) -> MarkerShape { allCases[index % allCases.count] }

    /// The outline around (x, y) with half-size `r`, as polygon points (nil for the circle).
    func points(_ x: Double, _ y: Double, _ r: Double) -> [(Double, Double)]? {
        func regular(_ count: Int, rotation: Double, radius: Double) -> [(Double, Double)] {
            (0..<count).map { index in
                let angle = rotation + Double(index) * 2 * Double.pi / Double(count)
                return (x + radius * cos(angle), y + radius * sin(angle))
            }
        }
        switch self {
        case .circle: return nil
        case .square: return [(x - r, y - r), (x + r, y - r), (x + r, y + r), (x - r, y + r)]
        case .triangle: return regular(3, rotation: -Double.pi / 2, radius: r * 1.3)
        case .triangleDown: return regular(3, rotation: Double.pi / 2, radius: r * 1.3)
        case .diamond: return regular(4, rotation: 0, radius: r * 1.3)
        case .hexagon: return regular(6, rotation: 0, radius: r * 1.1)
        case .star:
            return (0..<10).map { index in
                let angle = -Double.pi / 2 + Double(index) * Double.pi / 5
                let radius = index % 2 == 0 ? r * 1.4 : r * 0.6
                return (x + radius * cos(angle), y + radius * sin(angle))
            }
        case .cross:
            let t = r * 0.4
            return [(x - t, y - r), (x + t, y - r), (x + t, y - t), (x + r, y - t), (x + r, y + t), (x + t, y + t),
                    (x + t, y + r), (x - t, y + r), (x - t, y + t), (x - r, y + t), (x - r, y - t), (x - t, y - t)]
        }
    }
}

extension SVGCanvas {
    /// A marker of `shape` at (x, y), filled with `color`, on a white halo so it stands out on lines and bars.
    mutating func marker(_ shape: MarkerShape, _ x: Double, _ y: Double, size: Double = 4, color: String) {
        for (radius, fill) in [(size + 1.5, "#ffffff"), (size, color)] {
            if let points = shape.points(x, y, radius) {
                polygon(points, fill: fill, opacity: 1)
            } else {
                circle(x, y, radius: radius, fill: fill)
            }
        }
    }
}
