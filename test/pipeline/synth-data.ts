/** Test data of the synth suites (not a test file). */

/** A deterministic table: a ~ N(50, 10), b = exp(0.8 z + 0.6 e) (skewed, correlated with a), a category by a's band, a boolean. */
export function sampleTable(n: number, seed = 1) {
  let s = seed >>> 0 || 1;
  const u = () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return (s + 0.5) / 4294967296;
  };
  const gauss = () => Math.sqrt(-2 * Math.log(u())) * Math.cos(2 * Math.PI * u());
  const a: number[] = [];
  const b: number[] = [];
  const band: string[] = [];
  const flag: boolean[] = [];
  for (let i = 0; i < n; i++) {
    const z = gauss();
    a.push(50 + 10 * z);
    b.push(Math.exp(0.8 * z + 0.6 * gauss()));
    band.push(z > 0.5 ? 'high' : z > -0.5 ? 'mid' : 'low');
    flag.push(u() < 0.3);
  }
  return { a, b, band, flag };
}
