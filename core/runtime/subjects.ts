/** Subject names, in one place: `caco.<site>.evt.<type>`, `caco.<site>.cmd.<agent>.<name>`, `caco.<site>.dlq`. */
export const subjects = {
  event: (site: string, type: string) => `caco.${site}.evt.${type}`,
  /** Subscription pattern for an event-type pattern like `compute.job.*`. */
  eventPattern: (site: string, typePattern: string) => `caco.${site}.evt.${typePattern}`,
  command: (site: string, agent: string, name: string) => `caco.${site}.cmd.${agent}.${name}`,
  commands: (site: string, agent: string) => `caco.${site}.cmd.${agent}.>`,
  dlq: (site: string) => `caco.${site}.dlq`,
  typeOfEventSubject: (site: string, subject: string): string | undefined => {
    const prefix = `caco.${site}.evt.`;
    return subject.startsWith(prefix) ? subject.slice(prefix.length) : undefined;
  },
};
