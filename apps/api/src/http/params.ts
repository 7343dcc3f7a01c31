import { BadRequestException, ParseUUIDPipe, type PipeTransform } from '@nestjs/common';

/** A path parameter that must be a UUID; anything else is a 400 naming the parameter. */
export const uuidParam = (name: string): ParseUUIDPipe =>
  new ParseUUIDPipe({
    exceptionFactory: () =>
      new BadRequestException({ message: `${name} must be a UUID`, errors: [{ field: name, message: 'must be a UUID' }] }),
  });

/** A path parameter that must be a whole number from 0 to `max` (a place in a list, in decimal digits); anything else is a 400 naming it. */
export const indexParam = (name: string, max: number): PipeTransform<string, number> => ({
  transform(value) {
    if (!/^(0|[1-9][0-9]{0,8})$/.test(value) || Number(value) > max) {
      throw new BadRequestException({ message: `${name} must be a whole number from 0 to ${max}`, errors: [{ field: name, message: `must be a whole number from 0 to ${max}` }] });
    }
    return Number(value);
  },
});
