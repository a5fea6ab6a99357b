/**
 * What the gateway reads from an OpenAI chat body: the text to route on, whether it needs tools or image
 * input, and a cheap upper bound on its size in tokens.
 */

export interface WireMessage {
  role: string;
  content?: unknown;
  [k: string]: unknown;
}

export type RouteOn = "last-user" | "conversation";

/** Text of one message's content: a string, or the text parts of a content array. */
export function contentText(content: unknown): string {
  if (typeof content === "string") return content;
  if (!Array.isArray(content)) return "";
  let out = "";
  for (const part of content) {
    if (part && typeof part === "object" && (part as { type?: unknown }).type === "text") {
      const t = (part as { text?: unknown }).text;
      if (typeof t === "string") out += out ? `\n${t}` : t;
    }
  }
  return out;
}

export function hasImages(messages: readonly WireMessage[]): boolean {
  for (const m of messages) {
    if (!Array.isArray(m.content)) continue;
    for (const part of m.content)
      if (part && typeof part === "object") {
        const t = (part as { type?: unknown }).type;
        if (t === "image_url" || t === "input_image" || t === "image") return true;
      }
  }
  return false;
}

/**
 * The routing text. "last-user": the last user message. "conversation": the user turns (and system prompt),
 * oldest first, keeping the last `maxChars` characters — routers truncate long inputs anyway, and the end of
 * a conversation says most about what is being asked now.
 */
export function routingText(messages: readonly WireMessage[], routeOn: RouteOn, maxChars = 2000): string {
  if (routeOn === "last-user") {
    for (let i = messages.length - 1; i >= 0; i--)
      if (messages[i].role === "user") return clip(contentText(messages[i].content), maxChars);
    return "";
  }
  if (messages.length === 1) return clip(contentText(messages[0].content), maxChars);
  const parts: string[] = [];
  let size = 0;
  for (let i = messages.length - 1; i >= 0 && size < maxChars; i--) {
    const m = messages[i];
    if (m.role !== "user" && m.role !== "system") continue;
    const t = contentText(m.content);
    if (!t) continue;
    parts.push(t);
    size += t.length + 1;
  }
  return clip(parts.reverse().join("\n"), maxChars);
}

function clip(text: string, maxChars: number): string {
  return text.length > maxChars ? text.slice(text.length - maxChars) : text;
}

/** UTF-8 bytes of all message text: byte-level BPE never yields more tokens than bytes, so this bounds the count. */
export function byteBound(messages: readonly WireMessage[]): number {
  let n = 0;
  for (const m of messages) n += Buffer.byteLength(contentText(m.content)) + 8;
  return n;
}
