/**
 * Escapes untrusted text (experiment ids, parameters, metric names, log lines, reasons) for GitHub markdown:
 * no HTML, no links or images, no table breaks, no @mentions or #references that notify people.
 */
export function escapeMarkdown(text: string): string {
  return (
    text
      .replace(/[\r\n]+/g, ' ')
      .replace(/[\\`*_{}[\]()<>#+!|~&"']/g, (c) => `&#${c.charCodeAt(0)};`)
      // A zero-width joiner after @ keeps the text but stops the mention.
      .replace(/@/g, '@\u200d')
      .replace(/:\/\//g, ':&#47;&#47;')
  );
}
