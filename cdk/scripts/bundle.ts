// `npm pack`'s last step (prepack): puts in the package what the construct reads outside it in the repository,
// the template (template/sam-template.yaml) and the three arm64 bootstraps (functions/<Function>/bootstrap), so
// that an installed package synthesizes on its own. Copies only: the repository's files stay the one definition.
import * as fs from 'fs';
import * as path from 'path';

const pkg = path.resolve(__dirname, '..', '..');
const repo = path.resolve(pkg, '..');
const build = path.join(repo, 'target', 'sam-build');
fs.mkdirSync(path.join(pkg, 'template'), { recursive: true });
fs.copyFileSync(path.join(repo, 'infra', 'sam-template.yaml'), path.join(pkg, 'template', 'sam-template.yaml'));
for (const fn of ['StarterFunction', 'CompleterFunction', 'CancellerFunction']) {
  const from = path.join(build, fn, 'bootstrap');
  if (!fs.existsSync(from)) {
    throw new Error(`${from} is missing: build the functions first (bash scripts/build-functions.sh)`);
  }
  fs.mkdirSync(path.join(pkg, 'functions', fn), { recursive: true });
  fs.copyFileSync(from, path.join(pkg, 'functions', fn, 'bootstrap'));
  fs.chmodSync(path.join(pkg, 'functions', fn, 'bootstrap'), 0o755);
}
console.log(`bundled the template and the bootstraps of ${build}`);
