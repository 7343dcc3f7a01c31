import { Module } from '@nestjs/common';
import { CustodyModule } from '#custodia/custody';
import { CasesService } from './cases.service.js';

@Module({ imports: [CustodyModule], providers: [CasesService], exports: [CasesService] })
export class CasesModule {}
