/**
 * Escapes untrusted text (experiment ids, parameters, metric names, reasons, log text, titles) for an HTML page:
 * safe as element text, inside <pre>, <title> and SVG <text>, and inside a double- or single-quoted attribute.
 * Line breaks and tabs are kept, so log text reads as it was written.
 */
const ENTITIES: Readonly<Record<string, string>> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

/** Escapes `text` for HTML text and quoted attribute values; drops bidi controls and other control characters. */
export function escapeHtml(text: string): string {
  return (
    text
      // Bidirectional overrides and isolates can make a cell read differently from what it holds.
      .replace(/[\u202a-\u202e\u2066-\u2069]/g, '')
      // Control characters (other than tab and line breaks) are parse errors in HTML and mean nothing on a page.
      .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]/g, ' ')
      .replace(/[&<>"']/g, (c) => ENTITIES[c])
  );
}
