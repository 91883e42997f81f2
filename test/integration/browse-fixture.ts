import { type BuiltImage, type LayerEntry, LayoutWriter, randomImage } from '../harness/index.js';
import { appLayers } from './app-fixture.js';

/** The build steps of the browse tests' app image, as its config's history names them. */
export const APP_IMAGE_STEPS = [
  'ADD rootfs.tar /',
  'RUN npm ci',
  'COPY . /app && rm /etc/motd',
] as const;

/**
 * The Node-app-like image ({@link appLayers}) with a file each layer above the base
 * rewrites (`/app/package.json`: a modified path, wasted bytes) and a history naming the
 * steps, written as an OCI layout at `dir` tagged `tag`; `baseExtra` joins the base layer.
 */
export async function writeAppImage(
  dir: string,
  tag = 'v1',
  baseExtra: LayerEntry[] = [],
): Promise<BuiltImage> {
  const w = new LayoutWriter(dir);
  const created = '2024-01-01T00:00:00Z';
  const pkg = (version: string) => ({
    path: 'app/package.json',
    content: `{"name":"app","version":"${version}"}\n`,
  });
  const image = await randomImage(w, {
    refName: tag,
    layerEntries: appLayers([
      [{ path: 'etc/os-release', content: 'ID=app-base\n' }, ...baseExtra],
      [pkg('1.2.2')],
      [pkg('1.2.3')],
    ]),
    history: APP_IMAGE_STEPS.map((step) => ({ created, created_by: step })),
  });
  await w.finish();
  return image;
}
