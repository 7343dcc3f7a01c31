import { Body, Controller, Get, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiCreatedResponse, ApiOkResponse, ApiTags } from '@nestjs/swagger';
import { Allow, UsersService } from '#custodia/auth';
import { CreateUserDto, UserViewDto } from './dto.js';

@ApiTags('users')
@ApiBearerAuth()
@Controller('users')
@Allow('admin')
export class UsersController {
  constructor(private readonly users: UsersService) {}

  @Post()
  @ApiCreatedResponse({ type: UserViewDto })
  create(@Body() body: CreateUserDto): Promise<UserViewDto> {
    return this.users.create(body);
  }

  @Get()
  @ApiOkResponse({ type: [UserViewDto] })
  list(): Promise<UserViewDto[]> {
    return this.users.list();
  }
}
