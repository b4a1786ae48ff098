// GET /metrics for Prometheus (scrape config: metrics_path /metrics, the HTTP port).
import { Router } from 'express';
import type { ServerMetrics } from '../metrics';

export function metricsRouter(metrics: ServerMetrics): Router {
  const router = Router();
  router.get('/metrics', async (_req, res) => {
    const body = await metrics.exposition();
    res.type(metrics.contentType).send(body);
  });
  return router;
}
