/**
 * Escapes untrusted text (experiment ids, parameters, metric names, log lines, reasons) for GitHub markdown:
 * no HTML, no links or images (but for a bare commit SHA's), no table breaks, no math, no @mentions or issue
 * references (#1, GH-1, owner/repo#1) that notify people or add to a timeline.
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
      // GH-123 references an issue as #123 does. A bare commit SHA links to the commit but notifies no one and
      // adds to no timeline: it stays whole, as a SHA among the parameters is there to be copied.
      .replace(/(gh)-(?=\d)/gi, '$1-\u200d')
      // Bare URLs and www. names are autolinked from the text too.
      .replace(/:\/\//g, ':\u200b&#47;&#47;')
      .replace(/\bwww\./gi, (w) => `${w.slice(0, 3)}\u200b.`)
  );
}
