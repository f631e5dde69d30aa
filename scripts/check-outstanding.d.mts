export interface OutstandingCheck {
  tenant: string;
  reported: number;
  balances: number;
  consistent: boolean;
}

export function checkOutstanding(options: { gatewayUrl: string; membersUrl: string; tenant: string; jwtSecret: string; serviceSecret: string }): Promise<OutstandingCheck>;
