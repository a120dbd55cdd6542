// Expected values are scipy.stats (installed alongside gbstats 0.8.0) outputs, via
// analytics/stats/reference/generate_reference.py.
import { describe, it } from "node:test";

import { chiSquareSf, normalCdf, normalPpf, studentTCdf, studentTPpf } from "./distributions.ts";
import { assertClose } from "./testing/assert-close.ts";

describe("distribution functions match scipy", () => {
  it("normal cdf, relative accuracy in the far tail", () => {
    const cases: [number, number][] = [
      [-8.5, 9.47953482220325e-18],
      [-3.2, 0.0006871379379158471],
      [-1.0, 0.15865525393145707],
      [0.0, 0.5],
      [0.5, 0.6914624612740131],
      [1.96, 0.9750021048517795],
      [4.0, 0.9999683287581669],
    ];
    for (const [x, expected] of cases) assertClose(normalCdf(x), expected, `Φ(${x})`, 1e-12, 0);
  });

  it("normal quantile", () => {
    const cases: [number, number][] = [
      [1e-10, -6.361340902404056],
      [0.001, -3.090232306167813],
      [0.025, -1.9599639845400545],
      [0.5, 0.0],
      [0.8, 0.8416212335729143],
      [0.975, 1.959963984540054],
      [0.999999, 4.753424308817087],
    ];
    for (const [p, expected] of cases) assertClose(normalPpf(p), expected, `Φ⁻¹(${p})`, 1e-12, 1e-15);
  });

  it("Student t cdf at integer, fractional and very large degrees of freedom", () => {
    const cases: [number, number, number][] = [
      [2.0, 1, 0.8524163823495667],
      [-1.5, 3.7, 0.10679908460100675],
      [2.1, 19.5, 0.9755215662436914],
      [0.3, 100000.0, 0.6179111104048312],
      [-4.2, 7, 0.0020177799626099795],
      [1.0, 2500000.0, 0.8413446976744029],
    ];
    for (const [t, df, expected] of cases)
      assertClose(studentTCdf(t, df), expected, `T(${t}; ${df})`, 1e-11, 0);
  });

  it("Student t quantile", () => {
    const cases: [number, number, number][] = [
      [0.975, 1, 12.706204736174694],
      [0.975, 4.3, 2.70169489828223],
      [0.95, 30, 1.697260886593957],
      [0.975, 19997.9, 1.9600826176153487],
      [0.025, 12, -2.1788128296672293],
      [0.999, 2.2, 17.89361183962656],
    ];
    for (const [p, df, expected] of cases)
      assertClose(studentTPpf(p, df), expected, `T⁻¹(${p}; ${df})`, 1e-11, 0);
  });

  it("chi-square survival function", () => {
    const cases: [number, number, number][] = [
      [8.737864, 1, 0.003116693972623768],
      [0.1, 1, 0.7518296340458492],
      [15.0, 2, 0.0005530843701478337],
      [3.0, 5, 0.6999858358786276],
      [50.0, 3, 7.989179244951495e-11],
    ];
    for (const [x, k, expected] of cases)
      assertClose(chiSquareSf(x, k), expected, `χ²sf(${x}; ${k})`, 1e-12, 0);
  });
});
