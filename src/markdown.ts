/**
 * Escapes untrusted text (experiment ids, parameters, metric names, log lines, reasons) for GitHub markdown:
 * no HTML, no links or images, no table breaks, no math, no @mentions or #references that notify people.
 * The result is one line, safe inside a table cell or a list item.
 */
export function escapeMarkdown(text: string): string {
  return (
    text
      // Bidirectional overrides can make a cell read differently from what it holds.
      .replace(/[\u202a-\u202e\u2066-\u2069]/g, '')
      .replace(/[\r\n]+/g, ' ')
      .replace(/[\u0000-\u001f\u007f]/g, ' ')
      .replace(/[\\`*_{}[\]()<>#+!|~&"'$]/g, (c) => `&#${c.charCodeAt(0)};`)
      // GitHub links references and mentions in the rendered text, after entities are decoded: a zero-width
      // joiner after @ and # keeps the text but stops the mention or the issue link.
      .replace(/@/g, '@\u200d')
      .replace(/&#35;/g, '&#35;\u200d')
      // Bare URLs and www. names are autolinked from the text too.
      .replace(/:\/\//g, ':\u200b&#47;&#47;')
      .replace(/\bwww\./gi, (w) => `${w.slice(0, 3)}\u200b.`)
  );
}
