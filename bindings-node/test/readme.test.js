// The README's JavaScript snippet runs as it stands from where the README says (the
// repository root) and prints what the README shows under it.
'use strict'

const test = require('node:test')
const assert = require('node:assert/strict')
const { execFileSync } = require('node:child_process')
const path = require('node:path')
const { read } = require('./helpers')

const repo = path.resolve(__dirname, '..', '..')

test("the README's Node snippet runs from the repository root and prints what it shows", () => {
  const readme = read('README.md')
  const m = readme.match(/```js\n(const \{ Cluster[^]*?)```\n```\n([^]*?)```/)
  assert.ok(m, 'README has a ```js block followed by its output block')
  const [, code, expected] = m
  const out = execFileSync(process.execPath, ['-e', code], { cwd: repo, encoding: 'utf8' })
  assert.equal(out, expected)
})
