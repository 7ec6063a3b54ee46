//! Two small SVG line charts, written by hand: the update-latency CDF and resident memory
//! versus object count. No plotting crate: a few hundred bytes of markup per series.

use std::fmt::Write as _;

/// One line of a chart.
pub struct Series {
    /// Legend text.
    pub label: String,
    /// Points `(x, y)` in data units.
    pub points: Vec<(f64, f64)>,
    /// Draw a marker at each point.
    pub markers: bool,
    /// Dashed line.
    pub dashed: bool,
    /// Colour; `None` picks the next of the palette.
    pub colour: Option<&'static str>,
}

/// An axis: its title, range, log scale or not.
pub struct Axis {
    /// Title.
    pub title: String,
    /// Smallest value shown.
    pub min: f64,
    /// Largest value shown.
    pub max: f64,
    /// Logarithmic (base 10).
    pub log: bool,
}

const WIDTH: f64 = 760.0;
const HEIGHT: f64 = 460.0;
const LEFT: f64 = 70.0;
const RIGHT: f64 = 200.0;
const TOP: f64 = 40.0;
const BOTTOM: f64 = 60.0;
const COLOURS: [&str; 8] = [
    "#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#17becf", "#7f7f7f",
];

impl Axis {
    fn position(&self, value: f64, length: f64) -> f64 {
        let (min, max, value) = if self.log {
            (
                self.min.max(1e-12).log10(),
                self.max.max(1e-12).log10(),
                value.max(self.min).max(1e-12).log10(),
            )
        } else {
            (self.min, self.max, value)
        };
        if max <= min {
            return 0.0;
        }
        ((value - min) / (max - min)).clamp(0.0, 1.0) * length
    }

    fn ticks(&self) -> Vec<f64> {
        if self.log {
            let low = self.min.max(1e-12).log10().floor() as i32;
            let high = self.max.max(1e-12).log10().ceil() as i32;
            let mut ticks = Vec::new();
            for exponent in low..=high {
                for factor in [1.0, 2.0, 5.0] {
                    let tick = factor * 10f64.powi(exponent);
                    if tick >= self.min * 0.999 && tick <= self.max * 1.001 {
                        ticks.push(tick);
                    }
                }
            }
            ticks
        } else {
            let span = self.max - self.min;
            if span <= 0.0 {
                return vec![self.min];
            }
            let raw = span / 6.0;
            let magnitude = 10f64.powf(raw.log10().floor());
            let step = [1.0, 2.0, 2.5, 5.0, 10.0]
                .iter()
                .map(|f| f * magnitude)
                .find(|s| span / s <= 7.0)
                .unwrap_or(magnitude * 10.0);
            let mut tick = (self.min / step).ceil() * step;
            let mut ticks = Vec::new();
            while tick <= self.max + step * 1e-9 && ticks.len() < 20 {
                ticks.push(tick);
                tick += step;
            }
            ticks
        }
    }
}

fn label(value: f64) -> String {
    if value == 0.0 {
        "0".into()
    } else if value.abs() >= 1000.0 {
        let thousands = value / 1000.0;
        if (thousands - thousands.round()).abs() < 1e-9 {
            format!("{}k", thousands.round() as i64)
        } else {
            format!("{thousands:.1}k")
        }
    } else if (value - value.round()).abs() < 1e-9 {
        format!("{}", value.round() as i64)
    } else if value.abs() >= 0.1 {
        format!("{value:.2}")
            .trim_end_matches('0')
            .trim_end_matches('.')
            .to_string()
    } else {
        format!("{value}")
    }
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// The largest 1, 2 or 5 times a power of ten at or below `value` (`up`: the smallest at or
/// above), for the ends of a log axis.
pub fn round_125(value: f64, up: bool) -> f64 {
    let value = value.max(1e-9);
    let exponent = value.log10().floor() as i32;
    let steps = [1.0, 2.0, 5.0, 10.0];
    let base = 10f64.powi(exponent);
    if up {
        steps
            .iter()
            .map(|s| s * base)
            .find(|v| *v >= value * 0.999_999)
            .unwrap_or(base * 10.0)
    } else {
        steps
            .iter()
            .rev()
            .map(|s| s * base)
            .find(|v| *v <= value * 1.000_001)
            .unwrap_or(base)
    }
}

/// Renders a line chart.
pub fn line_chart(title: &str, subtitle: &str, x: &Axis, y: &Axis, series: &[Series]) -> String {
    let plot_width = WIDTH - LEFT - RIGHT;
    let plot_height = HEIGHT - TOP - BOTTOM;
    let px = |value: f64| LEFT + x.position(value, plot_width);
    let py = |value: f64| TOP + plot_height - y.position(value, plot_height);
    let mut svg = String::new();
    let _ = writeln!(
        svg,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{WIDTH}\" height=\"{HEIGHT}\" viewBox=\"0 0 {WIDTH} {HEIGHT}\" font-family=\"sans-serif\" font-size=\"12\">"
    );
    let _ = writeln!(
        svg,
        "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n<text x=\"{LEFT}\" y=\"18\" font-size=\"15\" font-weight=\"bold\">{}</text>\n<text x=\"{LEFT}\" y=\"33\" fill=\"#555\">{}</text>",
        escape(title),
        escape(subtitle)
    );
    // Grid and ticks.
    for tick in x.ticks() {
        let at = px(tick);
        let _ = writeln!(
            svg,
            "<line x1=\"{at:.1}\" y1=\"{TOP}\" x2=\"{at:.1}\" y2=\"{:.1}\" stroke=\"#e5e5e5\"/>\n<text x=\"{at:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>",
            TOP + plot_height,
            TOP + plot_height + 16.0,
            label(tick)
        );
    }
    for tick in y.ticks() {
        let at = py(tick);
        let _ = writeln!(
            svg,
            "<line x1=\"{LEFT}\" y1=\"{at:.1}\" x2=\"{:.1}\" y2=\"{at:.1}\" stroke=\"#e5e5e5\"/>\n<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
            LEFT + plot_width,
            LEFT - 6.0,
            at + 4.0,
            label(tick)
        );
    }
    let _ = writeln!(
        svg,
        "<rect x=\"{LEFT}\" y=\"{TOP}\" width=\"{plot_width}\" height=\"{plot_height}\" fill=\"none\" stroke=\"#333\"/>\n<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>\n<text transform=\"translate(18 {:.1}) rotate(-90)\" text-anchor=\"middle\">{}</text>",
        LEFT + plot_width / 2.0,
        HEIGHT - 18.0,
        escape(&x.title),
        TOP + plot_height / 2.0,
        escape(&y.title)
    );
    // Lines and legend.
    for (index, line) in series.iter().enumerate() {
        let colour = line.colour.unwrap_or(COLOURS[index % COLOURS.len()]);
        let dash = if line.dashed {
            " stroke-dasharray=\"6 4\""
        } else {
            ""
        };
        let points: Vec<String> = line
            .points
            .iter()
            .map(|(a, b)| format!("{:.1},{:.1}", px(*a), py(*b)))
            .collect();
        let _ = writeln!(
            svg,
            "<polyline fill=\"none\" stroke=\"{colour}\" stroke-width=\"2\"{dash} points=\"{}\"/>",
            points.join(" ")
        );
        if line.markers {
            for (a, b) in &line.points {
                let _ = writeln!(
                    svg,
                    "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"3.5\" fill=\"{colour}\"/>",
                    px(*a),
                    py(*b)
                );
            }
        }
        let legend_y = TOP + 10.0 + index as f64 * 20.0;
        let legend_x = LEFT + plot_width + 14.0;
        let _ = writeln!(
            svg,
            "<line x1=\"{legend_x:.1}\" y1=\"{legend_y:.1}\" x2=\"{:.1}\" y2=\"{legend_y:.1}\" stroke=\"{colour}\" stroke-width=\"2\"{dash}/>\n<text x=\"{:.1}\" y=\"{:.1}\">{}</text>",
            legend_x + 22.0,
            legend_x + 28.0,
            legend_y + 4.0,
            escape(&line.label)
        );
    }
    svg.push_str("</svg>\n");
    svg
}
