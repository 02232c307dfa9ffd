/**
 * Untrusted text (object names, experiment ids, reasons, cloud error messages) for a log line or a terminal:
 * control characters, the 8-bit CSI included, are shown escaped, never as line breaks, workflow commands or
 * terminal escapes.
 */
export function printable(text: string): string {
  return text.replace(
    /[\u0000-\u001f\u007f\u009b]/g,
    (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`,
  );
}
