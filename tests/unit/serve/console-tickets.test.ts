import { describe, expect, it } from 'vitest';
import { CONSOLE_TICKET_TTL_MS, ConsoleTickets } from '../../../main/serve/console-tickets';

const target = { vmId: 'vm-1', kind: 'vnc' as const, socketPath: '/run/vm-1/vnc.sock' };

describe('console tickets', () => {
  it('redeem once, for the session they were issued to', () => {
    const tickets = new ConsoleTickets();
    const { ticket, expiresInMs } = tickets.issue(target, 'session-a');
    expect(expiresInMs).toBeLessThanOrEqual(30_000);
    expect(tickets.redeem(ticket, 'session-a')).toEqual(target);
    expect(tickets.redeem(ticket, 'session-a')).toBeUndefined();
  });

  it('are refused for another session, and burnt by the attempt', () => {
    const tickets = new ConsoleTickets();
    const { ticket } = tickets.issue(target, 'session-a');
    expect(tickets.redeem(ticket, 'session-b')).toBeUndefined();
    expect(tickets.redeem(ticket, 'session-a')).toBeUndefined();
  });

  it('expire after at most 30 s, whatever was asked', () => {
    let now = 1_000_000;
    const tickets = new ConsoleTickets(() => now);
    const { ticket, expiresInMs } = tickets.issue(target, 'session-a', 10 * 60_000);
    expect(expiresInMs).toBe(CONSOLE_TICKET_TTL_MS);
    now += CONSOLE_TICKET_TTL_MS + 1;
    expect(tickets.redeem(ticket, 'session-a')).toBeUndefined();
  });

  it('refuse unknown, empty and missing tickets', () => {
    const tickets = new ConsoleTickets();
    expect(tickets.redeem('made-up', 'session-a')).toBeUndefined();
    expect(tickets.redeem('', 'session-a')).toBeUndefined();
    expect(tickets.redeem(null, 'session-a')).toBeUndefined();
  });

  it('are issued by open() only to a signed-in browser session', () => {
    const tickets = new ConsoleTickets();
    expect(() => tickets.open(target, { connectionId: 'ws-1' })).toThrow(/signed-in browser session/);
    const { ticket } = tickets.open(target, { connectionId: 'ws-1', session: 's' });
    expect(tickets.redeem(ticket, 's')?.vmId).toBe('vm-1');
  });
});
