// supercluster building its zoom levels over the points file, with the same
// radius (40 px), extent (512 px) and deepest zooms as the Rust bench.
// Prints the median of five runs per deepest zoom as JSON lines.
import { readFileSync } from "node:fs";
import Supercluster from "supercluster";

const manifest = new URL("./node_modules/supercluster/package.json", import.meta.url);
const version = JSON.parse(readFileSync(manifest, "utf8")).version;
const features = readFileSync(process.argv[2], "utf8").trim().split("\n").map((line) => {
  const [lon, lat] = line.split(",").map(Number);
  return { type: "Feature", properties: null, geometry: { type: "Point", coordinates: [lon, lat] } };
});

for (const maxZoom of [10, 13, 16]) {
  const times = [];
  for (let run = 0; run < 5; run++) {
    const started = process.hrtime.bigint();
    new Supercluster({ radius: 40, extent: 512, minZoom: 0, maxZoom }).load(features);
    times.push(Number(process.hrtime.bigint() - started) / 1e6);
  }
  times.sort((a, b) => a - b);
  console.log(JSON.stringify({ task: `clusters_build_z${maxZoom}`, points: features.length,
    ms: Math.round(times[2] * 10) / 10, peer: `supercluster ${version}` }));
}
