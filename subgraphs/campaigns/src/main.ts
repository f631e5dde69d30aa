import 'reflect-metadata';
import { main, runSubgraph } from '@loyalty/kit';
import { CampaignEntity } from './campaign/campaign.entity';
import { CampaignRepository } from './campaign/campaign.repository';
import { createLoaders, type CampaignsContext } from './context';
import { CampaignsInitial1763800000101 } from './migrations/1763800000101-campaigns-initial';
import { buildCampaignsSchema } from './schema';

main(() =>
  runSubgraph<CampaignRepository, CampaignsContext>(
    {
      name: 'campaigns',
      defaultPort: 4002,
      entities: [CampaignEntity],
      migrations: [CampaignsInitial1763800000101],
      buildSchema: buildCampaignsSchema,
      createServices: ({ db }) => new CampaignRepository(db),
      createContext: (base, repository) => ({ ...base, repository, loaders: createLoaders(repository, base.identity.tenant) }),
    },
    process.env,
  ),
);
