import { FhirError } from './outcome.js';
import type { ResourceRepository } from './repository.js';

/** The resource types this node serves; the router and the CapabilityStatement both read it. */
export class RepositoryRegistry {
  private readonly repos = new Map<string, ResourceRepository>();

  register(repo: ResourceRepository): this {
    this.repos.set(repo.resourceType, repo);
    return this;
  }

  get(type: string): ResourceRepository {
    const repo = this.repos.get(type);
    if (!repo) throw new FhirError(404, 'not-supported', `resource type "${type}" is not supported by this server`);
    return repo;
  }

  has(type: string): boolean {
    return this.repos.has(type);
  }

  all(): ResourceRepository[] {
    return [...this.repos.values()].sort((a, b) => a.resourceType.localeCompare(b.resourceType));
  }
}
