/**
 * Secret values that are public: the development defaults (`dev-only-insecure-secret-change-me`,
 * `npm start`'s `dev-admin-key-change-me-0000`) and the placeholders of the shipped examples
 * (`deploy/k8s/overlays/example/*.env.example`: `replace-me-...`). With NODE_ENV=production the
 * gateway and the admin API refuse any secret that contains one of these markers, so a copied
 * example or a development value never becomes a production key.
 */
export const EXAMPLE_SECRET_MARKERS: readonly string[] = ['replace-me', 'change-me'];

/** True when `value` is a development default or an example placeholder. */
export function isExampleSecret(value: string): boolean {
  const v = value.toLowerCase();
  return EXAMPLE_SECRET_MARKERS.some((marker) => v.includes(marker));
}

/**
 * One problem per variable of `secrets` that holds an example or development value (the value is
 * never printed). Variables that already have a problem in `reported` are skipped: one line each.
 */
export function exampleSecretProblems(secrets: Record<string, string | undefined>, reported: readonly string[] = []): string[] {
  const problems: string[] = [];
  for (const [name, value] of Object.entries(secrets)) {
    if (value === undefined || value === '' || !isExampleSecret(value)) continue;
    if (reported.some((p) => p.startsWith(`${name}:`))) continue;
    problems.push(
      `${name}: holds an example or development value (it contains "${EXAMPLE_SECRET_MARKERS.find((m) => value.toLowerCase().includes(m))}"); production needs a secret of its own (e.g. openssl rand -base64 48)`,
    );
  }
  return problems;
}
