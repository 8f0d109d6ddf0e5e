// Renders every diagram of tests/snapshots/diagram/*.snap (PLAN.md's Mermaid diagrams of every
// valid fixture, a 5,000-node cluster and hostile names) to SVG with the real Mermaid renderer
// (@mermaid-js/mermaid-cli) in Debian's chromium, and fails on any syntax error, on any link,
// script, image or event handler in the SVG, and when a node's text is not the label's text.
//
// Mermaid runs with securityLevel "loose" (no sanitizing, click handlers on): what keeps spec text
// inert must be meshspec's escaping, not Mermaid's sanitizer.
//
//   cd tests/mermaid && npm ci && node render.mjs [OUT_DIR]
//
// OUT_DIR (default: a new temporary directory) receives one SVG per diagram. scripts/test.sh runs
// it after the Rust tests, which check the snapshots are current.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import puppeteer from "puppeteer";
import { renderMermaid } from "@mermaid-js/mermaid-cli";

const here = path.dirname(fileURLToPath(import.meta.url));
const snapshots = path.join(here, "..", "snapshots", "diagram");
const out = process.argv[2] ?? fs.mkdtempSync(path.join(os.tmpdir(), "meshspec-mermaid-"));
fs.mkdirSync(out, { recursive: true });
const launch = JSON.parse(fs.readFileSync(path.join(here, "puppeteer.json"), "utf8"));

/** The ```mermaid blocks of a snapshot. */
function blocks(text) {
  return [...text.matchAll(/```mermaid\n([\s\S]*?)```/g)].map((m) => m[1]);
}

/** Text without spaces, control characters and U+FFFD (how the browser shows NUL). */
function squeeze(text) {
  return text.replace(/[\s\p{C}\uFFFD]/gu, "");
}

/** Mermaid's entity codes (`#60;`) and `<br>` undone: the text a label shows. */
function shown(label) {
  return squeeze(label.replaceAll("<br>", "").replace(/#(\d+);/g, (_, n) => String.fromCodePoint(Number(n))));
}

/** Every node statement's label (`  n0["..."]`, `l0(["..."])`, `m0(("..."))`). */
function nodeLabels(def) {
  return [...def.matchAll(/^ +[a-z]\d+(?:\[|\(\[|\(\()"([^"]*)"/gm)].map((m) => shown(m[1]));
}


const files = fs.readdirSync(snapshots).filter((f) => f.endsWith(".snap")).sort();
if (files.length === 0) throw new Error(`no snapshots in ${snapshots}`);
const browser = await puppeteer.launch(launch);
let count = 0;
const failures = [];
try {
  const page = await browser.newPage();
  for (const file of files) {
    const defs = blocks(fs.readFileSync(path.join(snapshots, file), "utf8"));
    if (defs.length === 0) failures.push(`${file}: no mermaid block`);
    for (const [i, def] of defs.entries()) {
      const name = `${file.replace(/\.snap$/, "")}-${i + 1}`;
      let svg;
      try {
        const { data } = await renderMermaid(browser, def, "svg", {
          mermaidConfig: { securityLevel: "loose", maxTextSize: 50000, maxEdges: 500 },
        });
        svg = new TextDecoder().decode(data);
      } catch (e) {
        failures.push(`${name}: Mermaid refused it: ${String(e.message ?? e).split("\n").slice(0, 6).join("\n")}`);
        continue;
      }
      fs.writeFileSync(path.join(out, `${name}.svg`), svg);
      count++;
      if (!svg.includes("<svg") || /Syntax error in/.test(svg)) failures.push(`${name}: an error diagram`);
      // no element that links, runs or loads anything, no attribute that does (spec text may say
      // "javascript:" or "<a href>": as text, which is what it must stay)
      await page.setContent(`<!doctype html><body>${svg}</body>`);
      const active = await page.$$eval("svg *", (els) =>
        els.flatMap((el) => {
          const tag = el.tagName.toLowerCase();
          const bad = ["a", "script", "img", "iframe", "object", "embed", "image", "use", "link"].includes(tag)
            ? [`<${tag}>`]
            : [];
          for (const a of el.getAttributeNames()) {
            const v = el.getAttribute(a) ?? "";
            if (/^on/i.test(a) || /href$/i.test(a) || /^\s*javascript:/i.test(v)) bad.push(`${tag}[${a}=${v.slice(0, 40)}]`);
          }
          return bad;
        }),
      );
      for (const a of active) failures.push(`${name}: the SVG holds ${a}`);
      // every node is drawn, with its label's text
      const drawn = await page.$$eval("g.node", (nodes) => nodes.map((n) => n.textContent));
      const want = nodeLabels(def);
      const got = new Set(drawn.map(squeeze));
      if (drawn.length !== want.length) failures.push(`${name}: ${drawn.length} nodes drawn, ${want.length} written`);
      for (const w of want) {
        if (!got.has(w)) failures.push(`${name}: no node shows ${JSON.stringify(w)} (drawn: ${JSON.stringify([...got])})`);
      }
    }
  }
} finally {
  await browser.close();
}
if (failures.length > 0) {
  console.error(failures.join("\n"));
  process.exit(1);
}
console.log(`${count} diagrams rendered to SVG in ${out}`);
