//! `herald sim --plot`: reach curves drawn as an SVG with plotters.
//!
//! The x axis is milliseconds since publication, the y axis the fraction of live nodes that
//! hold the record. Text is left to the SVG viewer's fonts (plotters' SVG backend writes
//! `<text>` elements), so drawing needs no font files.

use std::path::Path;

use anyhow::Context;
use herald_sim::ReachCurve;
use plotters::prelude::*;

/// One line of a plot.
pub struct Line {
    /// The legend entry, if the line has one.
    pub label: Option<String>,
    /// Points in (ms, fraction), in increasing ms.
    pub points: Vec<(f64, f64)>,
    /// Its colour.
    pub color: RGBColor,
}

/// Colours of the algorithms in a comparison, and of single runs' curves in turn.
const COLORS: [RGBColor; 6] = [
    RGBColor(31, 119, 180),
    RGBColor(214, 39, 40),
    RGBColor(44, 160, 44),
    RGBColor(255, 127, 14),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
];

/// The colour of the `index`th line.
pub fn color(index: usize) -> RGBColor {
    COLORS[index % COLORS.len()]
}

/// The step line of one record's curve: it rises by one node at each delivery.
pub fn curve_line(curve: &ReachCurve, color: RGBColor) -> Line {
    let targets = f64::from(curve.targets.max(1));
    let mut points = vec![(0.0, 0.0)];
    for (reached, delay) in curve.delays_ms.iter().enumerate() {
        points.push((*delay, reached as f64 / targets));
        points.push((*delay, (reached + 1) as f64 / targets));
    }
    Line { label: None, points, color }
}

/// The step line of the mean over `curves` of the fraction reached.
pub fn mean_line(curves: &[ReachCurve], label: String, color: RGBColor) -> Line {
    let mut times: Vec<f64> =
        curves.iter().flat_map(|curve| curve.delays_ms.iter().copied()).collect();
    times.sort_by(f64::total_cmp);
    times.dedup();
    let mut points = vec![(0.0, ReachCurve::mean_fraction_at(curves, 0.0))];
    for time in times {
        let before = points.last().map_or(0.0, |point| point.1);
        points.push((time, before));
        points.push((time, ReachCurve::mean_fraction_at(curves, time)));
    }
    Line { label: Some(label), points, color }
}

/// Draws `lines` to the SVG file at `path`, extending each line flat to the right edge.
pub fn draw(path: &Path, title: &str, lines: &[Line]) -> anyhow::Result<()> {
    let x_max = lines
        .iter()
        .flat_map(|line| line.points.last())
        .map(|point| point.0)
        .fold(0.0_f64, f64::max)
        .max(1.0)
        * 1.05;
    let write = || -> Result<(), DrawingAreaErrorKind<std::io::Error>> {
        let root = SVGBackend::new(path, (960, 560)).into_drawing_area();
        root.fill(&WHITE)?;
        let mut chart = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 18))
            .margin(16)
            .x_label_area_size(44)
            .y_label_area_size(60)
            .build_cartesian_2d(0.0..x_max, 0.0..1.02)?;
        chart
            .configure_mesh()
            .x_desc("milliseconds since publication")
            .y_desc("fraction of live nodes reached")
            .x_label_formatter(&|ms| format!("{ms:.0}"))
            .y_label_formatter(&|fraction| format!("{fraction:.1}"))
            .light_line_style(WHITE)
            .draw()?;
        let mut labelled = false;
        for line in lines {
            let mut points = line.points.clone();
            if let Some(last) = points.last().copied() {
                points.push((x_max, last.1));
            }
            let series = chart.draw_series(LineSeries::new(points, line.color.stroke_width(2)))?;
            if let Some(label) = &line.label {
                labelled = true;
                let color = line.color;
                series.label(label.as_str()).legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2))
                });
            }
        }
        if labelled {
            chart
                .configure_series_labels()
                .position(SeriesLabelPosition::LowerRight)
                .background_style(WHITE.mix(0.9))
                .border_style(BLACK)
                .draw()?;
        }
        root.present()?;
        Ok(())
    };
    write().with_context(|| format!("writing the plot to {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn curve(targets: u32, delays_ms: Vec<f64>) -> ReachCurve {
        ReachCurve { key: "s".into(), origin: 0, published_ms: 0.0, targets, delays_ms }
    }

    #[test]
    fn a_curve_line_rises_one_node_at_each_delivery() {
        let line = curve_line(&curve(2, vec![10.0, 30.0]), color(0));
        assert_eq!(
            line.points,
            vec![(0.0, 0.0), (10.0, 0.0), (10.0, 0.5), (30.0, 0.5), (30.0, 1.0)]
        );
        assert_eq!(line.label, None);
    }

    #[test]
    fn a_mean_line_steps_through_the_mean_fraction() {
        let curves = [curve(2, vec![10.0, 30.0]), curve(1, vec![20.0])];
        let line = mean_line(&curves, "plumtree".into(), color(1));
        assert_eq!(line.points.last(), Some(&(30.0, 1.0)));
        assert!(line.points.contains(&(20.0, 0.75)), "{:?}", line.points);
        assert_eq!(line.label.as_deref(), Some("plumtree"));
    }

    #[test]
    fn draw_writes_an_svg_with_its_title_and_legend() {
        let path = std::env::temp_dir().join(format!("herald-plot-{}.svg", std::process::id()));
        let lines = [mean_line(&[curve(2, vec![10.0, 30.0])], "flood".into(), color(0))];
        draw(&path, "reach", &lines).unwrap();
        let svg = std::fs::read_to_string(&path).unwrap();
        std::fs::remove_file(&path).unwrap();
        assert!(svg.starts_with("<svg"), "{}", &svg[..svg.len().min(100)]);
        assert!(
            svg.contains("\nreach\n") && svg.contains("\nflood\n"),
            "title and legend are text"
        );
    }

    #[test]
    fn an_unwritable_plot_is_an_error_naming_the_file() {
        let path = Path::new("/nonexistent-dir/reach.svg");
        let error = draw(path, "reach", &[]).unwrap_err();
        assert!(
            format!("{error:#}").starts_with("writing the plot to /nonexistent-dir/reach.svg: ")
        );
    }
}
