//! `docs/benchmarks.svg`: for each workload timed against tokio, every
//! runtime's time relative to tokio_ct (so tokio_ct is 1, lower is better),
//! with looplet's target marked on its bar.
//!
//! Drawn with `plotters`' SVG backend only (no default features): the SVG
//! holds `<text>` elements, so no font file is read or needed when it is
//! drawn — the viewer's `sans-serif` renders them.

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use std::error::Error;
use std::path::Path;

/// One group of bars: a workload, each runtime's time / tokio_ct's time, and
/// looplet's target.
#[derive(Debug, Clone)]
pub struct Group {
    /// The workload.
    pub label: String,
    /// One ratio per runtime (`None`: not measured), in column order.
    pub ratios: Vec<Option<f64>>,
    /// looplet's target ratio, if any.
    pub target: Option<f64>,
}

/// One color per runtime, in column order (tokio_local_runtime's, the
/// fourth, came last: the others kept theirs).
const COLORS: [RGBColor; 6] = [
    RGBColor(0x1f, 0x77, 0xb4),
    RGBColor(0xff, 0x7f, 0x0e),
    RGBColor(0x2c, 0xa0, 0x2c),
    RGBColor(0x8c, 0x56, 0x4b),
    RGBColor(0xd6, 0x27, 0x28),
    RGBColor(0x94, 0x67, 0xbd),
];

/// Bars wider than this are cut (and their value written at the cut).
const MAX_RATIO: f64 = 3.0;

/// Draws the grouped horizontal bar chart of `groups` into `path`.
pub fn draw(
    path: &Path,
    title: &str,
    runtimes: &[&str],
    groups: &[Group],
) -> Result<(), Box<dyn Error>> {
    let n = groups.len();
    let per_bar = 0.8 / runtimes.len() as f64;
    // One empty row on top holds the legend.
    let height = 120 + 18 * (runtimes.len() as u32 + 1) * (n as u32 + 1);
    let root = SVGBackend::new(path, (1000, height)).into_drawing_area();
    root.fill(&WHITE)?;

    let widest = groups
        .iter()
        .flat_map(|g| g.ratios.iter().flatten().copied().chain(g.target))
        .fold(1.0, f64::max);
    let x_max = widest.min(MAX_RATIO) * 1.12;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 20))
        .margin(10)
        .margin_left(190)
        .x_label_area_size(40)
        .build_cartesian_2d(0f64..x_max, -0.5f64..(n as f64 + 0.5))?;
    chart
        .configure_mesh()
        .disable_y_mesh()
        .max_light_lines(0)
        .y_labels(0)
        .x_desc("time relative to tokio_ct (lower is better)")
        .draw()?;

    // Row i of the chart, top to bottom; bar j of a group, top to bottom.
    let center = |i: usize| (n - 1 - i) as f64;
    let band = |i: usize, j: usize| {
        let top = center(i) + 0.4 - j as f64 * per_bar;
        (top - per_bar * 0.9, top)
    };

    // tokio_ct's line at 1.
    chart.draw_series(std::iter::once(PathElement::new(
        vec![(1.0, -0.5), (1.0, n as f64 + 0.5)],
        BLACK.mix(0.3).stroke_width(1),
    )))?;

    for (j, runtime) in runtimes.iter().enumerate() {
        let color = COLORS[j % COLORS.len()];
        let bars = groups.iter().enumerate().filter_map(|(i, g)| {
            let ratio = g.ratios.get(j).copied().flatten()?;
            let (y0, y1) = band(i, j);
            Some(Rectangle::new(
                [(0.0, y0), (ratio.min(x_max), y1)],
                color.filled(),
            ))
        });
        chart
            .draw_series(bars)?
            .label(*runtime)
            .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 12, y + 5)], color.filled()));
        let values = groups.iter().enumerate().filter_map(|(i, g)| {
            let ratio = g.ratios.get(j).copied().flatten()?;
            let (y0, y1) = band(i, j);
            let style = TextStyle::from(("sans-serif", 10).into_font())
                .pos(Pos::new(HPos::Left, VPos::Center));
            Some(Text::new(
                format!(" {ratio:.2}"),
                (ratio.min(x_max), (y0 + y1) / 2.0),
                style,
            ))
        });
        chart.draw_series(values)?;
    }

    // looplet's targets: a thick mark across its bar.
    let targets = groups.iter().enumerate().filter_map(|(i, g)| {
        let target = g.target?;
        let (y0, y1) = band(i, 0);
        Some(PathElement::new(
            vec![(target, y0 - 0.02), (target, y1 + 0.02)],
            BLACK.stroke_width(3),
        ))
    });
    chart
        .draw_series(targets)?
        .label("looplet's target")
        .legend(|(x, y)| {
            PathElement::new(vec![(x + 6, y - 6), (x + 6, y + 6)], BLACK.stroke_width(3))
        });

    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK.mix(0.4))
        .label_font(("sans-serif", 12))
        .draw()?;

    // The workload names, left of the plot, centred on their group.
    let label_style =
        TextStyle::from(("sans-serif", 13).into_font()).pos(Pos::new(HPos::Right, VPos::Center));
    for (i, group) in groups.iter().enumerate() {
        let (x, y) = chart.backend_coord(&(0.0, center(i)));
        root.draw(&Text::new(
            group.label.clone(),
            (x - 8, y),
            label_style.clone(),
        ))?;
    }
    root.present()?;
    Ok(())
}
