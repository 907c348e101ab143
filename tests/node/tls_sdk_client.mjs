// Child of taskman_tls.test.mjs: one MCP session with the official SDK client over https. Run with
// NODE_EXTRA_CA_CERTS (read by node at start-up) naming the test CA, or without it to see the
// certificate refused. Prints the list_projects result as JSON; exits 1 with the error on failure.
//   node tls_sdk_client.mjs https://127.0.0.1:PORT/mcp PROJECT_NAME
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';

const [url, name] = process.argv.slice(2);
const client = new Client({ name: 'tls-e2e', version: '1.0.0' });
try {
  await client.connect(new StreamableHTTPClientTransport(new URL(url)));
  const created = await client.callTool({ name: 'create_project', arguments: { name } });
  if (created.isError) throw new Error(`create_project failed: ${created.content?.[0]?.text}`);
  const listed = await client.callTool({ name: 'list_projects', arguments: {} });
  process.stdout.write(JSON.stringify(listed.structuredContent));
  await client.close();
} catch (e) {
  process.stderr.write(`${e?.message} ${e?.cause?.code ?? ''} ${e?.cause?.message ?? ''}\n`);
  process.exit(1);
}
