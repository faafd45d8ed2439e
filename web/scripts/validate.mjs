// Validate .glb files with the Khronos glTF-Validator; prints one JSON report per file.
// Usage: node scripts/validate.mjs FILE.glb [...]; exit code 1 when any file has errors.
import { readFile } from "node:fs/promises";
import validator from "gltf-validator";

let failed = false;
const reports = [];
for (const file of process.argv.slice(2)) {
  const data = new Uint8Array(await readFile(file));
  const report = await validator.validateBytes(data, { uri: file, maxIssues: 200 });
  const { numErrors, numWarnings, numInfos, numHints } = report.issues;
  reports.push({
    file,
    numErrors,
    numWarnings,
    numInfos,
    numHints,
    messages: report.issues.messages.map((m) => `${m.severity} ${m.code} ${m.pointer ?? ""}: ${m.message}`),
    info: report.info,
  });
  failed ||= numErrors > 0;
}
console.log(JSON.stringify(reports, null, 1));
process.exit(failed ? 1 : 0);
