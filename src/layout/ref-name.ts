/** The annotation an OCI image layout uses to name the manifests listed in `index.json`. */
export const REF_NAME_ANNOTATION = 'org.opencontainers.image.ref.name';

/**
 * The tag part of a `org.opencontainers.image.ref.name` value.
 *
 * skopeo, umoci and buildah write the bare tag (`1.0`); other tools write a full reference
 * (`docker.io/library/alpine:3.19`). A `:` only starts a tag when it comes after the last
 * `/`, so `localhost:5000/app` has no tag and yields `undefined`. A bare value without `/`
 * or `:` is itself the tag.
 */
export function tagOfRefName(refName: string): string | undefined {
  const at = refName.indexOf('@');
  const name = at >= 0 ? refName.slice(0, at) : refName;
  const colon = name.lastIndexOf(':');
  const slash = name.lastIndexOf('/');
  if (colon > slash) return name.slice(colon + 1) || undefined;
  if (slash < 0 && at < 0) return name || undefined;
  return undefined;
}
