/** The pages of the manager window, addressed by the URL hash so reloads and back/forward work. */
export type Route =
  | { page: 'machines' }
  | { page: 'machine'; id: string; tab: string }
  | { page: 'images' }
  | { page: 'networks' }
  | { page: 'host' }
  | { page: 'preferences' };

export function parseRoute(hash: string): Route {
  const parts = hash.replace(/^#\/?/, '').split('/').filter(Boolean).map(decodeURIComponent);
  switch (parts[0]) {
    case 'machines':
      return parts[1] ? { page: 'machine', id: parts[1], tab: parts[2] ?? 'overview' } : { page: 'machines' };
    case 'images':
    case 'networks':
    case 'host':
    case 'preferences':
      return { page: parts[0] };
    default:
      return { page: 'machines' };
  }
}

export function routeHref(route: Route): string {
  if (route.page === 'machine') return `#/machines/${encodeURIComponent(route.id)}/${encodeURIComponent(route.tab)}`;
  return `#/${route.page}`;
}

export class Router {
  route = $state<Route>(parseRoute(window.location.hash));

  constructor() {
    window.addEventListener('hashchange', () => {
      this.route = parseRoute(window.location.hash);
    });
  }

  go(route: Route): void {
    window.location.hash = routeHref(route);
  }
}
