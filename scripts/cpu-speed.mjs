// How fast one core of this machine is today, printed beside test and bench timings: machines
// of the same kind have differed more than twofold from day to day (docs/development.md, "Speed
// and robustness"), so a wall-clock figure means little without it. The workload is a fixed
// JavaScript loop (no I/O, no allocation): the median of 5 runs of 2·10⁸ additions, in seconds.
const runs = [];
for (let run = 0; run < 5; run++) {
  const start = process.hrtime.bigint();
  let sum = 0;
  for (let i = 0; i < 2e8; i++) sum += i;
  if (sum < 0) console.log(sum); // keeps the loop from being optimised away
  runs.push(Number(process.hrtime.bigint() - start) / 1e9);
}
runs.sort((a, b) => a - b);
console.log(`machine speed: 2e8 additions in ${runs[2].toFixed(3)} s (median of 5; Node ${process.version})`);
