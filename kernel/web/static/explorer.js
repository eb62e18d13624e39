// A small GraphQL explorer with no dependencies (the page's CSP forbids inline scripts).
const $ = (id) => document.getElementById(id);

async function run(query, variables) {
  const res = await fetch('/graphql', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', 'X-Requested-With': 'explorer' },
    credentials: 'same-origin',
    body: JSON.stringify({ query, variables }),
  });
  return res.json();
}

async function onRun() {
  let variables = {};
  try {
    variables = JSON.parse($('variables').value || '{}');
  } catch (e) {
    $('result').textContent = `Variables are not valid JSON: ${e.message}`;
    return;
  }
  $('result').textContent = 'Running...';
  try {
    $('result').textContent = JSON.stringify(await run($('query').value, variables), null, 2);
  } catch (e) {
    $('result').textContent = `Request failed: ${e.message}`;
  }
}

async function onSchema() {
  const data = await run('{ __schema { types { name kind fields { name } } } }', {});
  if (data.errors) {
    $('result').textContent = JSON.stringify(data.errors, null, 2);
    return;
  }
  const types = data.data.__schema.types.filter((t) => !t.name.startsWith('__') && t.kind === 'OBJECT');
  $('result').textContent = types
    .map((t) => `type ${t.name} {\n${(t.fields || []).map((f) => `  ${f.name}`).join('\n')}\n}`)
    .join('\n\n');
}

$('run').addEventListener('click', onRun);
$('schema').addEventListener('click', onSchema);
$('query').addEventListener('keydown', (e) => {
  if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) onRun();
});
