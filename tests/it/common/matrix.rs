//! A FedRAMP/DoD audit-scope page at the size of the real one: two tables
//! of `rows` services × 7 columns under "Azure public" and "Azure
//! Government" headings, with every quirk of the real pages: service links
//! followed by "(formerly …)" notes or footnote markers, the header row
//! repeated every 15 rows, check marks written six ways, a "Planned 2019"
//! column that is not scope, and a decoy table elsewhere on the page.

/// The certification columns, as the page names them.
pub const COLUMNS: [&str; 5] = [
    "FedRAMP Moderate",
    "FedRAMP High",
    "DoD CC SRG IL 2",
    "DoD IL4",
    "DoD IL5",
];
pub const CLOUDS: [&str; 2] = ["Azure public", "Azure Government"];
/// The check marks, as the page writes them.
pub const MARKS: [&str; 6] = [
    "&#x2705;",
    "\u{2714}",
    "\u{2713}",
    ":heavy_check_mark:",
    "\u{2705}",
    "Yes",
];

/// Whether service `row` is in scope of column `col` in cloud `cloud`.
pub fn in_scope(cloud: usize, row: usize, col: usize) -> bool {
    !(row * 7 + col + cloud).is_multiple_of(3)
}

pub fn service(row: usize) -> String {
    format!("Azure Service {row:03}")
}

/// The page; `il2` names the "DoD CC SRG IL 2" column (it was renamed
/// "DoD IL2" over the years); `drop` removes one check mark (cloud, row, col).
pub fn page(rows: usize, il2: &str, drop: Option<(usize, usize, usize)>) -> String {
    let mut html = String::from(
        "<!DOCTYPE html><html><head><title>Azure services in FedRAMP and DoD audit scope</title></head><body>\
         <main><h1>Azure, Dynamics 365, and Microsoft 365 services in FedRAMP and DoD audit scope</h1>\
         <p>Which services are in scope of which authorization.</p>\
         <table class=\"legend\"><tr><th>Mark</th><th>Meaning</th></tr><tr><td>&#x2705;</td><td>Yes</td></tr></table>",
    );
    for (cloud, heading) in CLOUDS.iter().enumerate() {
        html.push_str(&format!("<h2>{heading}</h2><table class=\"audit-scope\">"));
        let header = format!(
            "<tr><th>Service</th><th>{}</th><th>{}</th><th>{il2}</th><th>{}</th><th>{}</th><th>Planned 2019</th></tr>",
            COLUMNS[0], COLUMNS[1], COLUMNS[3], COLUMNS[4]
        );
        html.push_str(&format!("<thead>{header}</thead><tbody>"));
        for row in 0..rows {
            if row > 0 && row % 15 == 0 {
                html.push_str(&header);
            }
            let name = match row % 4 {
                0 => format!(
                    "<a href=\"/azure/{row}\">{}</a> (formerly Old Service {row:03})",
                    service(row)
                ),
                1 => format!("<a href=\"/azure/{row}\">{}</a> *", service(row)),
                2 => format!("{}<sup>\u{b9}</sup>", service(row)),
                _ => format!("<a href=\"/azure/{row}\">{}</a>**", service(row)),
            };
            html.push_str(&format!("<tr><td>{name}</td>"));
            for col in 0..COLUMNS.len() {
                let mark = in_scope(cloud, row, col) && drop != Some((cloud, row, col));
                let cell = if mark {
                    MARKS[(row + col) % MARKS.len()]
                } else {
                    ""
                };
                html.push_str(&format!("<td>{cell}</td>"));
            }
            html.push_str(&format!(
                "<td>{}</td></tr>",
                if row % 5 == 0 { "&#x2705;" } else { "" }
            ));
        }
        html.push_str("</tbody></table>");
    }
    html.push_str("</main></body></html>");
    html
}
