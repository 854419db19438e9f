// The graphql-ws npm client (which nobody here wrote) against workgate.
// Usage: node client.mjs WS_URL TOKEN ORDER_ID COUNT
// Subscribes to orderChanged(id, after: "0"), prints each event as one JSON
// line, and exits 0 after COUNT events (1 on any error).
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';

const [url, token, orderId, count] = process.argv.slice(2);
const client = createClient({
  url,
  webSocketImpl: WebSocket,
  connectionParams: { authorization: `Bearer ${token}` },
  retryAttempts: 0,
  lazy: false,
});
let seen = 0;
try {
  await new Promise((resolve, reject) => {
    client.subscribe(
      {
        query: 'subscription($id: ID!) { orderChanged(id: $id, after: "0") { cursor kind orderId order { title } } }',
        variables: { id: orderId },
      },
      {
        next: (result) => {
          console.log(JSON.stringify(result));
          seen += 1;
          if (seen >= Number(count)) resolve();
        },
        error: (e) => reject(e),
        complete: () => reject(new Error(`completed after ${seen} events`)),
      },
    );
  });
  await client.dispose();
  process.exit(0);
} catch (e) {
  console.error('graphql-ws client failed:', e instanceof Error ? e.message : JSON.stringify(e));
  process.exit(1);
}
