/**
 * A strict well-formedness check for the SVG files we write (Node has no XML parser): one root element,
 * every tag closed in order, attributes quoted, only XML's predefined or numeric entities. Returns the
 * first problem, or null.
 */
export function xmlProblem(text: string): string | null {
  const body = text.replace(/^<\?xml[^?]*\?>\s*/, "");
  const token =
    /<!--[\s\S]*?-->|<\/?([A-Za-z][\w:.-]*)((?:\s+[\w:.-]+\s*=\s*(?:"[^"<]*"|'[^'<]*'))*)\s*(\/?)>|<|&(?!(?:lt|gt|amp|quot|apos|#\d+|#x[0-9a-fA-F]+);)/g;
  const stack: string[] = [];
  let roots = 0;
  let last = 0;
  for (let m = token.exec(body); m; m = token.exec(body)) {
    const between = body.slice(last, m.index);
    if (stack.length === 0 && between.trim()) return `text outside the root element at ${m.index}`;
    last = m.index + m[0].length;
    if (m[0].startsWith("<!--")) continue;
    if (m[0] === "<") return `unterminated or malformed tag at ${m.index}: ${body.slice(m.index, m.index + 40)}`;
    if (m[0].startsWith("&")) return `bare "&" at ${m.index}`;
    const name = m[1] as string;
    const attrs = (m[2] ?? "").match(/[\w:.-]+(?=\s*=)/g) ?? [];
    if (new Set(attrs).size !== attrs.length) return `duplicate attribute on <${name}> at ${m.index}`;
    if (m[0].startsWith("</")) {
      const open = stack.pop();
      if (open !== name) return `</${name}> closes <${open ?? "nothing"}> at ${m.index}`;
    } else if (m[3] !== "/") {
      if (stack.length === 0) roots++;
      stack.push(name);
    } else if (stack.length === 0) roots++;
  }
  if (body.slice(last).trim()) return "text after the root element";
  if (stack.length) return `unclosed <${stack.join("> <")}>`;
  if (roots !== 1) return `${roots} root elements`;
  return null;
}
