// The chat view of CHAT_MODEL and LLM spans: the request and response normalised to one list
// of messages (role + blocks: text, tool calls, tool results, images), plus tool definitions.
//
// Formats read (spec §1.13, §2.7, §8): OpenAI chat completions (inputs.messages,
// outputs.choices[].message with tool_calls; legacy completions prompt/choices[].text), OpenAI
// Responses (instructions, input items, output items: message, function_call,
// function_call_output, reasoning), Anthropic messages (system, content blocks text/tool_use/
// tool_result/image, response content), OTel GenAI (gen_ai.input.messages /
// gen_ai.output.messages with parts, gen_ai.system_instructions, the older
// gen_ai.prompt.N.* / gen_ai.completion.N.* attributes), LangChain-style messages
// ({type: human|ai|system|tool}), MLflow's legacy mlflow.chat.messages, and plain strings.

import { h, glyph } from "./util.js";
import { jsonTree, textBlock } from "./json.js";

const ROLE_ALIASES = { human: "user", ai: "assistant", model: "assistant", developer: "system", function: "tool", chatbot: "assistant" };

function normRole(role) {
  const r = String(role || "user").toLowerCase();
  return ROLE_ALIASES[r] || r;
}

function parseArgs(args) {
  if (typeof args !== "string") return args ?? {};
  try { return JSON.parse(args); } catch { return args; }
}

function isObj(v) { return v !== null && typeof v === "object" && !Array.isArray(v); }

/** Content (string, OpenAI parts, Anthropic blocks, Responses items, GenAI parts) → blocks. */
function contentBlocks(content) {
  if (content === null || content === undefined) return [];
  if (typeof content === "string") return content ? [{ kind: "text", text: content }] : [];
  if (!Array.isArray(content)) {
    if (isObj(content) && (content.type || content.text !== undefined)) return contentBlocks([content]);
    return [{ kind: "json", value: content }];
  }
  const blocks = [];
  for (const part of content) {
    if (typeof part === "string") { blocks.push({ kind: "text", text: part }); continue; }
    if (!isObj(part)) continue;
    const type = part.type;
    if (isObj(part.toolUse)) { // Bedrock converse blocks
      blocks.push({ kind: "tool_call", id: part.toolUse.toolUseId, name: part.toolUse.name, args: part.toolUse.input });
      continue;
    }
    if (isObj(part.toolResult)) {
      blocks.push({ kind: "tool_result", id: part.toolResult.toolUseId, content: toolResultContent((part.toolResult.content || []).map((c) => (c.text !== undefined ? { type: "text", text: c.text } : c.json ?? c))) });
      continue;
    }
    if (type === "text" || type === "input_text" || type === "output_text" || (type === undefined && typeof part.text === "string")) {
      blocks.push({ kind: "text", text: String(part.text ?? part.content ?? "") });
    } else if (type === "refusal") {
      blocks.push({ kind: "text", text: `Refusal: ${part.refusal ?? ""}` });
    } else if (type === "image_url" || type === "input_image") {
      blocks.push({ kind: "image", url: part.image_url?.url ?? part.image_url ?? part.url ?? "" });
    } else if (type === "image" && part.source) {
      const s = part.source;
      blocks.push({ kind: "image", url: s.type === "base64" ? `data:${s.media_type};base64,${s.data}` : s.url ?? "" });
    } else if (type === "tool_use") {
      blocks.push({ kind: "tool_call", id: part.id, name: part.name, args: part.input });
    } else if (type === "tool_result") {
      blocks.push({ kind: "tool_result", id: part.tool_use_id, content: toolResultContent(part.content), error: part.is_error });
    } else if (type === "tool_call") { // OTel GenAI part
      blocks.push({ kind: "tool_call", id: part.id, name: part.name, args: parseArgs(part.arguments) });
    } else if (type === "tool_call_response") {
      blocks.push({ kind: "tool_result", id: part.id, content: part.response ?? part.result });
    } else if (type === "thinking" || type === "reasoning") {
      blocks.push({ kind: "reasoning", text: String(part.thinking ?? part.content ?? part.text ?? "") });
    } else if (type === "function_call") {
      blocks.push({ kind: "tool_call", id: part.call_id ?? part.id, name: part.name, args: parseArgs(part.arguments) });
    } else {
      blocks.push({ kind: "json", value: part });
    }
  }
  return blocks;
}

function toolResultContent(content) {
  if (Array.isArray(content) && content.every((p) => isObj(p) && p.type === "text")) return content.map((p) => p.text).join("\n");
  return content;
}

/** One OpenAI-chat / Anthropic / LangChain / GenAI message → normalised message(s). */
function message(m) {
  if (typeof m === "string") return [{ role: "user", blocks: contentBlocks(m) }];
  if (!isObj(m)) return [];
  // LangChain serialisation: {type: "human", content} or {lc, kwargs: {content, type}}.
  const src = isObj(m.kwargs) && m.kwargs.content !== undefined ? m.kwargs : m;
  const role = normRole(src.role ?? src.type ?? (Array.isArray(m.id) ? String(m.id[m.id.length - 1]).replace(/Message(Chunk)?$/, "") : "user"));
  const blocks = contentBlocks(src.parts ?? src.content);
  for (const call of src.tool_calls || []) {
    if (!isObj(call)) continue;
    const fn = call.function || call;
    blocks.push({ kind: "tool_call", id: call.id, name: fn.name, args: parseArgs(fn.arguments ?? fn.args) });
  }
  if (src.function_call) blocks.push({ kind: "tool_call", name: src.function_call.name, args: parseArgs(src.function_call.arguments) });
  if (role === "tool" && (src.tool_call_id || src.name)) {
    const text = blocks.filter((b) => b.kind === "text").map((b) => b.text).join("\n");
    const rest = blocks.filter((b) => b.kind !== "text");
    return [{ role, blocks: [{ kind: "tool_result", id: src.tool_call_id, name: src.name, content: text || (rest.length ? rest : "") }] }];
  }
  return [{ role, blocks, name: src.name, finish: src.finish_reason }];
}

/** OpenAI Responses input/output items → messages. */
function responseItems(items, defaultRole) {
  const out = [];
  const push = (role, block) => {
    const last = out[out.length - 1];
    if (last && last.role === role && role === "assistant") last.blocks.push(block);
    else out.push({ role, blocks: [block] });
  };
  for (const item of Array.isArray(items) ? items : [items]) {
    if (typeof item === "string") { out.push({ role: defaultRole, blocks: contentBlocks(item) }); continue; }
    if (!isObj(item)) continue;
    const type = item.type;
    if (type === "function_call") push("assistant", { kind: "tool_call", id: item.call_id ?? item.id, name: item.name, args: parseArgs(item.arguments) });
    else if (type === "function_call_output") out.push({ role: "tool", blocks: [{ kind: "tool_result", id: item.call_id, content: parseMaybeJson(item.output) }] });
    else if (type === "reasoning") {
      const text = (item.summary || []).map((s) => s.text).filter(Boolean).join("\n");
      if (text) push("assistant", { kind: "reasoning", text });
    } else if (type === "message" || item.role) {
      const role = normRole(item.role ?? defaultRole);
      if (role === "assistant") for (const block of contentBlocks(item.content)) push(role, block);
      else out.push({ role, blocks: contentBlocks(item.content) });
    }
    else if (type && type.endsWith("_call")) push("assistant", { kind: "tool_call", id: item.id, name: type.replace(/_call$/, ""), args: item.action ?? item.arguments ?? item });
  }
  return out;
}

function parseMaybeJson(text) {
  if (typeof text !== "string") return text;
  const t = text.trim();
  if (!(t.startsWith("{") || t.startsWith("["))) return text;
  try { return JSON.parse(t); } catch { return text; }
}

function systemMessage(system) {
  if (system === undefined || system === null || system === "") return [];
  return [{ role: "system", blocks: contentBlocks(system) }];
}

/** Request side. */
function requestMessages(inputs, attrs) {
  const genIn = attrs["gen_ai.input.messages"];
  if (Array.isArray(genIn)) {
    const sys = attrs["gen_ai.system_instructions"];
    return [...(Array.isArray(sys) ? [{ role: "system", blocks: contentBlocks(sys) }] : systemMessage(sys)), ...genIn.flatMap(message)];
  }
  const legacy = attrs["mlflow.chat.messages"];
  if (Array.isArray(legacy)) return legacy.flatMap(message);
  const prompts = indexedMessages(attrs, "gen_ai.prompt");
  if (prompts.length) return prompts;
  if (typeof inputs === "string") return [{ role: "user", blocks: contentBlocks(inputs) }];
  if (Array.isArray(inputs)) {
    // A bare list of messages (LangChain passes [[...messages]]).
    const list = Array.isArray(inputs[0]) ? inputs[0] : inputs;
    if (list.every((m) => typeof m === "string" || (isObj(m) && (m.role || m.type || m.kwargs)))) {
      return list.some((m) => isObj(m) && m.type && /_call/.test(m.type)) ? responseItems(list, "user") : list.flatMap(message);
    }
    return [];
  }
  if (!isObj(inputs)) return [];
  if (Array.isArray(inputs.messages)) {
    const list = Array.isArray(inputs.messages[0]) ? inputs.messages[0] : inputs.messages;
    return [...systemMessage(inputs.system), ...list.flatMap(message)];
  }
  if (inputs.input !== undefined && (typeof inputs.input === "string" || Array.isArray(inputs.input))) {
    return [...systemMessage(inputs.instructions), ...responseItems(inputs.input, "user")];
  }
  for (const key of ["prompt", "query", "question", "text"]) {
    if (typeof inputs[key] === "string") return [...systemMessage(inputs.system), { role: "user", blocks: contentBlocks(inputs[key]) }];
  }
  if (Array.isArray(inputs.prompt)) return inputs.prompt.map((p) => ({ role: "user", blocks: contentBlocks(String(p)) }));
  if (Array.isArray(inputs.contents)) return inputs.contents.map((c) => ({ role: normRole(c.role), blocks: contentBlocks((c.parts || []).map((p) => (p.text !== undefined ? { type: "text", text: p.text } : p))) }));
  return [];
}

/** `gen_ai.prompt.0.role` / `.content` style attributes. */
function indexedMessages(attrs, prefix) {
  const out = [];
  for (let i = 0; i < 1000; i++) {
    const content = attrs[`${prefix}.${i}.content`];
    const role = attrs[`${prefix}.${i}.role`];
    if (content === undefined && role === undefined) break;
    const blocks = contentBlocks(typeof content === "string" ? content : content ?? "");
    const calls = [];
    for (let j = 0; j < 100; j++) {
      const name = attrs[`${prefix}.${i}.tool_calls.${j}.name`];
      if (name === undefined) break;
      calls.push({ kind: "tool_call", id: attrs[`${prefix}.${i}.tool_calls.${j}.id`], name, args: parseArgs(attrs[`${prefix}.${i}.tool_calls.${j}.arguments`]) });
    }
    out.push({ role: normRole(role ?? (prefix.endsWith("completion") ? "assistant" : "user")), blocks: [...blocks, ...calls] });
  }
  return out;
}

/** Response side. */
function responseMessages(outputs, attrs) {
  const genOut = attrs["gen_ai.output.messages"];
  if (Array.isArray(genOut)) return genOut.flatMap((m) => message({ role: "assistant", ...m }));
  const completions = indexedMessages(attrs, "gen_ai.completion");
  if (completions.length) return completions;
  if (outputs === null || outputs === undefined) return [];
  if (typeof outputs === "string") return [{ role: "assistant", blocks: contentBlocks(outputs) }];
  if (Array.isArray(outputs)) {
    if (outputs.every((m) => isObj(m) && (m.role || m.type))) return responseItems(outputs, "assistant");
    return [];
  }
  if (!isObj(outputs)) return [];
  if (Array.isArray(outputs.choices)) {
    return outputs.choices.flatMap((c) => {
      if (isObj(c?.message)) return message({ role: "assistant", ...c.message, finish_reason: c.finish_reason });
      if (isObj(c?.delta)) return message({ role: "assistant", ...c.delta });
      if (typeof c?.text === "string") return [{ role: "assistant", blocks: contentBlocks(c.text) }];
      return [];
    });
  }
  if (Array.isArray(outputs.output) && outputs.output.length) return responseItems(outputs.output, "assistant");
  if (isObj(outputs.output) && isObj(outputs.output.message)) return message({ role: "assistant", ...outputs.output.message }); // Bedrock converse
  if (typeof outputs.output_text === "string") return [{ role: "assistant", blocks: contentBlocks(outputs.output_text) }];
  if (outputs.type === "message" || (outputs.role && outputs.content !== undefined)) {
    return [{ role: normRole(outputs.role ?? "assistant"), blocks: contentBlocks(outputs.content), finish: outputs.stop_reason }];
  }
  if (Array.isArray(outputs.generations)) { // LangChain LLMResult
    return outputs.generations.flat().map((g) => (isObj(g?.message) ? message(g.message)[0] : { role: "assistant", blocks: contentBlocks(g?.text ?? "") })).filter(Boolean);
  }
  if (Array.isArray(outputs.candidates)) { // Gemini
    return outputs.candidates.map((c) => ({ role: "assistant", blocks: contentBlocks((c.content?.parts || []).map((p) => (p.text !== undefined ? { type: "text", text: p.text } : p.functionCall ? { type: "tool_call", name: p.functionCall.name, arguments: p.functionCall.args } : p))) }));
  }
  for (const key of ["content", "text", "answer", "response"]) {
    if (typeof outputs[key] === "string") return [{ role: "assistant", blocks: contentBlocks(outputs[key]) }];
  }
  return [];
}

/** Tool definitions: mlflow.chat.tools, else the request's tools (OpenAI, Responses, Anthropic). */
function toolDefinitions(inputs, attrs) {
  const raw = Array.isArray(attrs["mlflow.chat.tools"]) ? attrs["mlflow.chat.tools"]
    : Array.isArray(attrs["gen_ai.tool.definitions"]) ? attrs["gen_ai.tool.definitions"]
    : isObj(inputs) && Array.isArray(inputs.tools) ? inputs.tools : [];
  return raw.filter(isObj).map((t) => {
    const fn = isObj(t.function) ? t.function : t;
    return { name: fn.name ?? t.type ?? "tool", description: fn.description, parameters: fn.parameters ?? fn.input_schema ?? t.input_schema };
  });
}

/**
 * The chat of a span, or null when its inputs/outputs are not a recognised conversation.
 * `span` has decoded `inputs`, `outputs` and `attributes`.
 */
export function parseChat(span) {
  const attrs = span.attributes || {};
  let request = [];
  let response = [];
  try {
    request = requestMessages(span.inputs, attrs);
    response = responseMessages(span.outputs, attrs);
  } catch {
    return null;
  }
  const messages = [...request, ...response].filter((m) => m && m.blocks && m.blocks.length);
  if (!messages.length) return null;
  // Tool results answer a call; give each result the name of its call.
  const names = new Map();
  for (const m of messages) for (const b of m.blocks) if (b.kind === "tool_call" && b.id) names.set(b.id, b.name);
  for (const m of messages) for (const b of m.blocks) if (b.kind === "tool_result" && !b.name && names.has(b.id)) b.name = names.get(b.id);
  return { messages, tools: toolDefinitions(span.inputs, attrs), requestCount: request.length };
}

const ROLE_LABEL = { system: "System", user: "User", assistant: "Assistant", tool: "Tool" };

function blockView(block) {
  switch (block.kind) {
    case "text": return textBlock(block.text, { markdown: true });
    case "reasoning": return h("details.tv-chat-reasoning", null, h("summary", null, "Reasoning"), textBlock(block.text, { markdown: true }));
    case "image": {
      const url = String(block.url || "");
      if (/^(https?:|data:image\/)/i.test(url)) return h("img.tv-chat-image", { src: url, alt: "image", loading: "lazy" });
      return h("div.tv-muted", null, `[image ${url.slice(0, 80)}]`);
    }
    case "tool_call": {
      const args = block.args;
      return h("div.tv-tool-call", { testid: "tool-call" },
        h("div.tv-tool-head", null, glyph("wrench", 13), h("span.tv-tool-name", null, block.name || "tool"), block.id ? h("span.tv-tool-id", null, block.id) : null),
        isObj(args) || Array.isArray(args) ? jsonTree(args, { openDepth: 3 }) : h("pre.tv-tool-args", null, String(args ?? "")));
    }
    case "tool_result": {
      const content = typeof block.content === "string" ? parseMaybeJson(block.content) : block.content;
      return h("div.tv-tool-result", { testid: "tool-result", class: block.error ? "error" : null },
        h("div.tv-tool-head", null, glyph("check", 13), h("span", null, "Result"), block.name ? h("span.tv-tool-name", null, block.name) : null, block.id ? h("span.tv-tool-id", null, block.id) : null),
        typeof content === "string" ? textBlock(content) : Array.isArray(content) && content.every((b) => b && b.kind) ? content.map(blockView) : jsonTree(content, { openDepth: 2 }));
    }
    default: return jsonTree(block.value, { openDepth: 1 });
  }
}

/** The chat pane: tool definitions (collapsed), then the messages. */
export function renderChat(chat) {
  const root = h("div.tv-chat", { testid: "chat-view" });
  if (chat.tools.length) {
    const tools = h("details.tv-chat-tools", null,
      h("summary", null, glyph("wrench", 13), ` ${chat.tools.length} tool${chat.tools.length === 1 ? "" : "s"} available: `, h("span.tv-muted", null, chat.tools.map((t) => t.name).join(", "))));
    for (const tool of chat.tools) {
      tools.append(h("div.tv-tool-def", { testid: "tool-definition" },
        h("div.tv-tool-head", null, h("span.tv-tool-name", null, tool.name)),
        tool.description ? h("div.tv-tool-desc", null, tool.description) : null,
        tool.parameters ? jsonTree(tool.parameters, { openDepth: 1 }) : null));
    }
    root.append(tools);
  }
  chat.messages.forEach((m, index) => {
    const role = m.role;
    const known = ROLE_LABEL[role] ? role : "other";
    const responseStart = index === chat.requestCount && index > 0;
    if (responseStart) root.append(h("div.tv-chat-divider", null, h("span", null, "response")));
    root.append(h(`div.tv-chat-msg.role-${known}`, { testid: "chat-message", "data-role": role },
      h("div.tv-chat-role", null, ROLE_LABEL[role] || role, m.name && role !== "tool" ? h("span.tv-muted", null, ` · ${m.name}`) : null, m.finish && m.finish !== "stop" && m.finish !== "end_turn" ? h("span.tv-badge", null, m.finish) : null),
      h("div.tv-chat-body", null, m.blocks.map(blockView))));
  });
  return root;
}
