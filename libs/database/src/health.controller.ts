import { Controller, Get } from '@nestjs/common';
import { ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { AppError, ErrorCode } from '@app/common';
import { DatabaseHealth } from './database-health';

@ApiTags('operations')
@Controller('health')
export class HealthController {
  constructor(private readonly database: DatabaseHealth) {}

  @Get()
  @ApiOperation({ summary: 'Liveness and database reachability' })
  @ApiResponse({
    status: 200,
    description: 'The database answers',
    schema: { example: { status: 'ok', database: 'up' } },
  })
  @ApiResponse({ status: 503, description: 'UNAVAILABLE: the database does not answer' })
  async health(): Promise<{ status: 'ok'; database: 'up' }> {
    if (!(await this.database.check())) {
      throw new AppError(ErrorCode.Unavailable, {}, 'database unavailable');
    }
    return { status: 'ok', database: 'up' };
  }
}
