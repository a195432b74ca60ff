/**
 * Preloaded (`node --import`) into a CLI child by bench/file-transfer.ts: samples the V8 heap every 50 ms and, on
 * exit, prints the peak heap and the process's own peak RSS (getrusage maxrss) as one line on stderr, so the
 * figures are the command's own, not the seeder's or the bench's.
 */
let peakHeap = 0;
const sample = () => { peakHeap = Math.max(peakHeap, process.memoryUsage().heapUsed); };
setInterval(sample, 50).unref();
process.on('exit', () => {
  sample();
  process.stderr.write(`BENCH_MEMORY ${JSON.stringify({ maxRssMB: process.resourceUsage().maxRSS / 1024, peakHeapMB: peakHeap / 2 ** 20 })}\n`);
});
