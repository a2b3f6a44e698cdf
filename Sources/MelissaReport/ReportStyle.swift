/// The report's inline stylesheet: system fonts only (no network), readable at 1280 px, sensible on paper.
enum ReportStyle {
    // Kept free of "<" and "&" so the <style> element stays well-formed XML without CDATA.
    static let css = """
    :root { color-scheme: light; }
    * { box-sizing: border-box; }
    body { margin: 0 auto; padding: 24px 32px 48px; max-width: 1320px; color: #1d1d1f; background: #ffffff;
           font: 15px/1.45 "DejaVu Sans", "Segoe UI", Helvetica, Arial, sans-serif; }
    h1 { font-size: 26px; margin: 0 0 4px; }
    h2 { font-size: 20px; margin: 28px 0 8px; padding-bottom: 4px; border-bottom: 2px solid #e2e2e2; }
    h3 { font-size: 16px; margin: 18px 0 6px; }
    code { font-family: "DejaVu Sans Mono", Menlo, Consolas, monospace; font-size: 0.92em;
           background: #f3f3f5; padding: 1px 4px; border-radius: 3px; word-break: break-all; }
    .meta { color: #555555; margin: 0 0 8px; }
    .top { display: grid; grid-template-columns: minmax(0, 1fr) minmax(0, 1fr); gap: 24px; align-items: start; }
    table.summary { border-collapse: collapse; width: 100%; }
    table.summary th, table.summary td { text-align: left; padding: 5px 10px; border-bottom: 1px solid #e6e6e6;
           vertical-align: top; }
    table.summary th { font-weight: 600; color: #333333; width: 45%; }
    table.summary tr:nth-child(even) { background: #fafafa; }
    .notes { border: 1px solid #e3a21a; border-left: 6px solid #d97706; background: #fff7e6; padding: 8px 16px;
             border-radius: 4px; margin: 0 0 16px; }
    .notes h2 { border: none; margin: 4px 0; font-size: 17px; color: #8a4b00; }
    .notes ul { margin: 4px 0 8px; padding-left: 20px; }
    .notes li { margin: 2px 0; }
    .params span { display: inline-block; margin: 2px 6px 2px 0; padding: 1px 8px; border-radius: 10px;
                   background: #eef3f9; }
    nav ul { padding-left: 20px; margin: 4px 0; }
    .field-info { color: #555555; margin: 0 0 8px; }
    .probe { margin: 0 0 18px; break-inside: avoid; page-break-inside: avoid; }
    .charts { display: grid; grid-template-columns: repeat(auto-fill, minmax(380px, 1fr)); gap: 12px 16px; }
    .charts svg { display: block; width: 100%; max-width: 440px; height: auto; border: 1px solid #ececec;
                  border-radius: 4px; background: #ffffff; }
    .empty { color: #777777; font-style: italic; }
    footer { margin-top: 36px; color: #777777; font-size: 13px; }
    @media (max-width: 900px) { .top { grid-template-columns: minmax(0, 1fr); } }
    @media print {
      @page { size: A4 landscape; margin: 12mm; }
      body { max-width: none; padding: 0; font-size: 11pt; }
      /* A landscape page is about 1030 px wide: keep a probe's three charts on one row, scaled down. */
      .charts { grid-template-columns: repeat(3, minmax(0, 1fr)); gap: 8px; }
      .charts svg { border: none; max-width: 100%; }
      a { color: inherit; text-decoration: none; }
      h2 { break-after: avoid; page-break-after: avoid; }
      .field { break-before: page; page-break-before: always; }
    }
    """
}
