// What `Cluster.render()` returns, built by files.rs: an object that reads exactly like the
// plain `{ [path]: { contents, mode } }` it replaces, but converts a file (copies its text into
// a JS string) only when that file is first read. A 5,000-node bundle has 30,000 files;
// converting them all up front made render() cost 1.4-1.9x the core's own render.
//
// files.rs evaluates this script once per Node environment and calls the function below with
// four native helpers over a bundle handle (an External holding the core's files in path
// order):
//   indexOf(bundle, path) -> the file's index, or null
//   contentsAt(bundle, index) -> its text, copied into a new JS string on each call
//   modeAt(bundle, index) -> its mode
//   pathsOf(bundle) -> string[], every path in order (index order)
// It returns `files(bundle)`, which wraps one bundle in a Proxy over a plain object, the
// target, that keeps the files converted so far. Reading goes through the traps: `files[path]`
// converts that file once (the same object on every read), `path in files`, `Object.keys`,
// `for...in` and `Object.hasOwn` convert nothing (a file not converted yet reports an accessor
// descriptor whose getter converts it; once converted, a data descriptor), and
// `Object.entries`, spread, `JSON.stringify` and deep equality convert what they read. The
// first write (set, delete, defineProperty, preventExtensions, setPrototypeOf, so also
// `Object.freeze`) converts the rest into the target, in path order, and from then on the
// Proxy forwards everything to it: the object is an ordinary one. `util.inspect` (so
// console.log) shows a Proxy's target without going through the traps, so until then the
// target carries a hidden inspect hook that shows every file. What still tells it apart from
// a plain object: `util.types.isProxy`, and `structuredClone` (so `postMessage`) refuses a
// Proxy: clone `{ ...files }` instead.
(function (indexOf, contentsAt, modeAt, pathsOf) {
  'use strict'
  const { defineProperty, hasOwn, fromEntries } = Object
  const inspectHook = Symbol.for('nodejs.util.inspect.custom')
  const field = (value) => ({ value, writable: true, enumerable: true, configurable: true })

  return function files(bundle) {
    const target = {}
    let paths = null // every path, listed on first need
    let indices = null // path -> index, made when the paths are listed
    let detached = false

    const listPaths = () => {
      if (paths === null) {
        paths = pathsOf(bundle)
        indices = new Map(paths.map((path, i) => [path, i]))
      }
      return paths
    }
    // The index of a path, or undefined (a string that is no path, or not a string).
    const find = (key) => {
      if (typeof key !== 'string') return undefined
      if (indices !== null) return indices.get(key)
      return indexOf(bundle, key) ?? undefined
    }
    // The file at a path (converted once, then kept in the target), or undefined.
    const load = (path) => {
      if (detached || hasOwn(target, path)) return target[path]
      const i = find(path)
      if (i === undefined) return undefined
      const file = { contents: contentsAt(bundle, i), mode: modeAt(bundle, i) }
      defineProperty(target, path, field(file))
      return file
    }
    // Every file into the target, in path order; the Proxy forwards everything from then on.
    const detach = () => {
      if (detached) return
      const all = listPaths().map((path) => [path, load(path)])
      for (const key of Reflect.ownKeys(target)) delete target[key]
      for (const [path, file] of all) defineProperty(target, path, field(file))
      detached = true
    }
    const isPath = (key) => typeof key === 'string' && (hasOwn(target, key) || find(key) !== undefined)

    defineProperty(target, inspectHook, {
      value: () => fromEntries(listPaths().map((path) => [path, load(path)])),
      writable: true,
      enumerable: false,
      configurable: true,
    })

    return new Proxy(target, {
      get(t, key, receiver) {
        if (!detached && typeof key === 'string') {
          const file = load(key)
          if (file !== undefined) return file
        }
        if (!detached && key === inspectHook) return undefined
        return Reflect.get(t, key, receiver)
      },
      has(t, key) {
        if (detached) return Reflect.has(t, key)
        if (key === inspectHook) return false
        return isPath(key) || Reflect.has(t, key)
      },
      ownKeys(t) {
        return detached ? Reflect.ownKeys(t) : listPaths()
      },
      getOwnPropertyDescriptor(t, key) {
        if (detached) return Reflect.getOwnPropertyDescriptor(t, key)
        if (typeof key !== 'string') return undefined
        if (hasOwn(t, key)) return Reflect.getOwnPropertyDescriptor(t, key)
        if (find(key) === undefined) return undefined
        // not converted yet: an accessor that converts it, so `Object.keys` (which asks for
        // every key's descriptor) stays cheap; a read goes through `get` above either way
        return { get: () => load(key), set: undefined, enumerable: true, configurable: true }
      },
      set(t, key, value, receiver) {
        detach()
        return Reflect.set(t, key, value, receiver)
      },
      defineProperty(t, key, descriptor) {
        detach()
        return Reflect.defineProperty(t, key, descriptor)
      },
      deleteProperty(t, key) {
        detach()
        return Reflect.deleteProperty(t, key)
      },
      preventExtensions(t) {
        detach()
        return Reflect.preventExtensions(t)
      },
      setPrototypeOf(t, prototype) {
        detach()
        return Reflect.setPrototypeOf(t, prototype)
      },
    })
  }
})
