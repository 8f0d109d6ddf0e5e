// What render() returns reads and writes like the plain `{ [path]: { contents, mode } }` it
// was before it became lazy (src/files.js): every way of reading it gives what a plain copy
// gives, and writing to it turns it into an ordinary object.
'use strict'

const { test } = require('node:test')
const assert = require('node:assert/strict')
const util = require('node:util')
const { Cluster } = require('meshspec')
const { lab } = require('./helpers.js')

const render = () => Cluster.fromYaml(lab).render()
/** A plain object holding the same files, built without going through render()'s object. */
const plain = () => JSON.parse(JSON.stringify(render()))

test('keys, entries, values, for...in and spread give what a plain object gives', () => {
  const files = render()
  const copy = plain()
  assert.ok(Object.keys(copy).length > 10)
  assert.deepEqual(Object.keys(files), Object.keys(copy))
  assert.deepEqual(Object.keys(files), [...Object.keys(files)].sort())
  assert.deepEqual(Object.getOwnPropertyNames(files), Object.keys(copy))
  assert.deepEqual(Reflect.ownKeys(files), Object.keys(copy))
  assert.deepEqual(Object.entries(files), Object.entries(copy))
  assert.deepEqual(Object.values(files), Object.values(copy))
  const walked = []
  for (const p in files) walked.push(p)
  assert.deepEqual(walked, Object.keys(copy))
  assert.deepStrictEqual({ ...files }, copy)
  assert.deepStrictEqual(Object.assign({}, files), copy)
})

test('deep equality holds both ways against a plain object, and fails on a difference', () => {
  assert.deepStrictEqual(render(), plain())
  assert.deepStrictEqual(plain(), render())
  assert.deepStrictEqual(render(), render())
  const changed = plain()
  changed['PLAN.md'].mode = 0o600
  assert.notDeepStrictEqual(render(), changed)
  const fewer = plain()
  delete fewer['PLAN.md']
  assert.notDeepStrictEqual(render(), fewer)
})

test('a path reads as the same file object every time; anything else as on a plain object', () => {
  const files = render()
  const plan = files['PLAN.md']
  assert.equal(files['PLAN.md'], plan)
  assert.deepEqual(Object.keys(plan), ['contents', 'mode'])
  assert.match(plan.contents, /^# Plan for cluster `lab`/)
  assert.equal(files['nodes/c/install.sh'], undefined)
  assert.equal(files.then, undefined, 'not a thenable: `await render()` gives the object')
  assert.equal(files[Symbol.iterator], undefined)
  assert.ok('PLAN.md' in files)
  assert.ok(!('nodes/c/install.sh' in files))
  assert.ok('toString' in files, 'inherits from Object.prototype')
  assert.ok(Object.hasOwn(files, 'nodes/a/install.sh'))
  assert.ok(files.hasOwnProperty('nodes/b/install.sh'))
  assert.ok(!Object.hasOwn(files, 'toString'))
  assert.equal(Object.getPrototypeOf(files), Object.prototype)
  assert.equal(Object.prototype.toString.call(files), '[object Object]')
  assert.equal(typeof files, 'object')
  assert.deepEqual(Object.getOwnPropertySymbols(files), [])
})

test('listing the paths converts no file; reading one converts that file only', () => {
  const files = render()
  assert.ok(Object.keys(files).includes('nodes/a/install.sh'))
  const before = Object.getOwnPropertyDescriptor(files, 'nodes/a/install.sh')
  assert.equal(typeof before.get, 'function', 'not converted by Object.keys')
  assert.equal(before.enumerable, true)
  assert.deepEqual(before.get(), plain()['nodes/a/install.sh'], 'the getter converts it')
  const after = Object.getOwnPropertyDescriptor(files, 'nodes/a/install.sh')
  assert.deepEqual(after, { value: files['nodes/a/install.sh'], writable: true, enumerable: true, configurable: true })
  assert.equal(typeof Object.getOwnPropertyDescriptor(files, 'nodes/b/install.sh').get, 'function')
  assert.equal(Object.getOwnPropertyDescriptor(files, 'nope'), undefined)
})

test('JSON.stringify and util.inspect (console.log) show every file, as for a plain object', () => {
  const copy = plain()
  assert.equal(JSON.stringify(render()), JSON.stringify(copy))
  assert.equal(util.inspect(render()), util.inspect(copy))
  assert.equal(util.inspect(render(), { depth: 0 }), util.inspect(copy, { depth: 0 }))
  const read = render()
  void read['PLAN.md']
  assert.equal(util.inspect(read), util.inspect(copy), 'after a read too')
})

test('writing to it works as on a plain object, and it is an ordinary object from then on', () => {
  const files = render()
  const copy = plain()
  void files['nodes/b/install.sh']
  delete files['PLAN.md']
  delete copy['PLAN.md']
  files.extra = { contents: 'x', mode: 0o644 }
  copy.extra = { contents: 'x', mode: 0o644 }
  files['nodes/a/install.sh'] = null
  copy['nodes/a/install.sh'] = null
  assert.deepStrictEqual(files, copy)
  assert.deepEqual(Object.keys(files), Object.keys(copy), 'the paths stay in order, additions last')
  assert.equal(util.inspect(files), util.inspect(copy))
  assert.equal(files['PLAN.md'], undefined, 'a deleted file stays deleted')
  assert.ok(!('PLAN.md' in files))

  const frozen = Object.freeze(render())
  assert.ok(Object.isFrozen(frozen))
  assert.deepStrictEqual(frozen, plain())
  assert.throws(() => {
    frozen['PLAN.md'] = null
  }, TypeError)

  const defined = render()
  Object.defineProperty(defined, 'PLAN.md', { value: 1, enumerable: false })
  assert.ok(!Object.keys(defined).includes('PLAN.md'))
  assert.equal(defined['PLAN.md'], 1)
})

test('a structured clone needs a plain copy', () => {
  assert.throws(() => structuredClone(render()), { name: 'DataCloneError' })
  assert.deepStrictEqual(structuredClone({ ...render() }), plain())
})

test('a worker thread renders too (each thread has its own Node environment)', async () => {
  const { Worker } = require('node:worker_threads')
  const code = `
    const { parentPort } = require('node:worker_threads')
    const { Cluster } = require(${JSON.stringify(require.resolve('meshspec'))})
    const files = Cluster.fromYaml(${JSON.stringify(lab)}).render()
    parentPort.postMessage({ paths: Object.keys(files), plan: files['PLAN.md'] })
  `
  const message = await new Promise((resolve, reject) => {
    const worker = new Worker(code, { eval: true })
    worker.once('message', resolve)
    worker.once('error', reject)
  })
  const files = render()
  assert.deepEqual(message.paths, Object.keys(files))
  assert.deepEqual(message.plan, files['PLAN.md'])
})
