// Preloaded (`node -r`) by benchmark/startup.ts: writes to stderr, as the process exits, how many
// milliseconds after the process started the main script began and the first function of the
// native addon was called, and the CPU time spent until then.
const { performance } = require('node:perf_hooks')

const marks = { main: performance.now() }
const dlopen = process.dlopen
process.dlopen = function (module, ...rest) {
  const result = dlopen.call(this, module, ...rest)
  for (const [name, value] of Object.entries(module.exports)) {
    if (typeof value !== 'function' || !/^[a-z]/.test(name)) continue
    module.exports[name] = function (...args) {
      if (marks.firstCall === undefined) {
        marks.firstCall = performance.now()
        const cpu = process.cpuUsage()
        marks.cpu = (cpu.user + cpu.system) / 1000
      }
      return value.apply(this, args)
    }
  }
  return result
}
process.on('exit', () => require('node:fs').writeSync(2, `\nFIRST-CALL ${JSON.stringify(marks)}\n`))
