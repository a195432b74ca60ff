/**
 * Progress of long CLI work (export, import, reconcile) on stderr, so stdout keeps only the data or JSON a command
 * prints. On a terminal: a cli-progress bar with rate and ETA, or, while the total is unknown, a running count with
 * its rate. Not on a terminal (a pipe, CI, a log file): nothing while it runs, then exactly one summary line.
 */
import cliProgress from 'cli-progress';

export interface Progress {
  /** `done` of `total` (0 or undefined: not known yet); `stage` names what is running (it restarts the bar). */
  update(done: number, total?: number, stage?: string): void;
  /** Stop and print the one summary line, with how long it took and the rate of `count` units. */
  finish(summary: string, count?: number): void;
  /** Stop without a summary (the command failed: its error is the line to read). */
  abort(): void;
}

export function startProgress(label: string, unit: string, stream: NodeJS.WriteStream = process.stderr): Progress {
  const started = performance.now();
  const tty = stream.isTTY === true;
  let bar: cliProgress.SingleBar | null = null;
  let barStage = '';
  let barHasTotal = false;
  let stageStart = started;

  const stop = () => { bar?.stop(); bar = null; };
  const rate = (done: number) => {
    const s = (performance.now() - stageStart) / 1000;
    return s > 0 ? Math.round(done / s) : 0;
  };

  return {
    update(done, total, stage = '') {
      if (!tty) return;
      const known = !!total && total > 0;
      if (!bar || stage !== barStage || known !== barHasTotal) {
        stop();
        barStage = stage;
        barHasTotal = known;
        stageStart = performance.now();
        const name = `${label}${stage ? ` (${stage})` : ''}`;
        bar = new cliProgress.SingleBar({
          stream, fps: 5, hideCursor: true, clearOnComplete: true, etaBuffer: 50,
          format: known
            ? `${name} {bar} {percentage}% | {value}/{total} ${unit} | {rate}/s | ETA {eta_formatted}`
            : `${name} {value} ${unit} | {rate}/s | {duration_formatted}`,
        }, cliProgress.Presets.shades_classic);
        bar.start(known ? total! : 0, done, { rate: 0 });
      }
      if (known) bar.setTotal(total!);
      bar.update(done, { rate: rate(done) });
    },
    finish(summary, count) {
      stop();
      const s = (performance.now() - started) / 1000;
      const r = count !== undefined && s > 0 ? `, ${Math.round(count / s)} ${unit}/s` : '';
      stream.write(`${label}: ${summary} (${s.toFixed(1)} s${r})\n`);
    },
    abort: stop,
  };
}
