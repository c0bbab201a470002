// The official MCP SDK's Streamable HTTP client against headroom_ccr_mcp:
// connect (initialize, notifications/initialized), list the tools, call
// headroom_retrieve with the ID (and LINES) given, and an id nobody
// stored. Prints what came back as one JSON line.
'use strict';
const { Client } = require('@modelcontextprotocol/sdk/client/index.js');
const { StreamableHTTPClientTransport } =
  require('@modelcontextprotocol/sdk/client/streamableHttp.js');

async function main() {
  const transport = new StreamableHTTPClientTransport(new URL(process.env.MCP_URL), {
    requestInit: { headers: { 'x-api-key': process.env.API_KEY } },
  });
  const client = new Client({ name: 'headroom-test', version: '1.0.0' });
  await client.connect(transport);
  const tools = await client.listTools();
  const args = { id: process.env.ID };
  if (process.env.LINES) args.lines = process.env.LINES;
  const got = await client.callTool({ name: 'headroom_retrieve', arguments: args });
  const unknown = await client.callTool({ name: 'headroom_retrieve',
                                          arguments: { id: 'f'.repeat(32) } });
  let refused = null;
  try {
    await client.callTool({ name: 'no_such_tool', arguments: {} });
  } catch (e) {
    refused = String(e.message || e);
  }
  await client.close();
  console.log(JSON.stringify({
    server: client.getServerVersion(),
    protocol: transport.protocolVersion || null,
    tools: tools.tools.map((t) => ({ name: t.name, required: t.inputSchema.required })),
    got: { isError: got.isError, text: got.content[0].text },
    unknown: { isError: unknown.isError, text: unknown.content[0].text },
    refused,
  }));
}

main().catch((e) => { console.error(e); process.exit(1); });
