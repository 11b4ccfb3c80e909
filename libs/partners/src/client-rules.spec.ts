import { AppError, ErrorCode } from '@app/common';
import { checkClientId, checkSettings, clientIdProblem } from './client-rules';

function problems(run: () => unknown): Array<{ field: string; message: string }> {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(AppError);
    expect((error as AppError).code).toBe(ErrorCode.ValidationFailed);
    return (error as AppError).extra.details ?? [];
  }
  throw new Error('no validation error');
}

describe('client ids', () => {
  it.each(['d5b2e760-1b6c-4296-a89f-1da0ffe8c414', 'ludo', 'a.b:c-d_e', 'x'.repeat(128)])(
    'accepts %j',
    (id) => {
      expect(clientIdProblem(id)).toBeUndefined();
      expect(checkClientId(id)).toBe(id);
    },
  );

  it.each(['', 'a b', 'a___b', 'x'.repeat(129), 'é', 'a\u0000', 'tab\t'])('refuses %j', (id) => {
    expect(problems(() => checkClientId(id))).toEqual([
      { field: 'id', message: expect.any(String) },
    ]);
  });
});

describe('checkSettings', () => {
  it('normalises what it accepts: trimmed text, + on country codes, no duplicates', () => {
    expect(
      checkSettings({
        name: '  Ludo  ',
        allowedCountryCodes: ['91', '+44', ' +91 '],
        hourlySendBudget: 500,
        senderName: 'Ludo King',
        messageTemplate: '{code} for {app}',
      }),
    ).toEqual({
      name: 'Ludo',
      allowedCountryCodes: ['+91', '+44'],
      hourlySendBudget: 500,
      senderName: 'Ludo King',
      messageTemplate: '{code} for {app}',
    });
  });

  it('keeps absent settings absent and turns an empty country list into null (the default)', () => {
    expect(checkSettings({})).toEqual({});
    expect(checkSettings({ allowedCountryCodes: [] })).toEqual({ allowedCountryCodes: null });
    expect(
      checkSettings({
        allowedCountryCodes: null,
        hourlySendBudget: null,
        senderName: null,
        messageTemplate: null,
      }),
    ).toEqual({
      allowedCountryCodes: null,
      hourlySendBudget: null,
      senderName: null,
      messageTemplate: null,
    });
  });

  it('reports every bad setting at once, by field', () => {
    const found = problems(() =>
      checkSettings({
        name: '',
        allowedCountryCodes: ['+0'],
        hourlySendBudget: 0,
        senderName: 's'.repeat(31),
        messageTemplate: 'no placeholder',
      }),
    );
    expect(found.map((p) => p.field)).toEqual([
      'name',
      'senderName',
      'messageTemplate',
      'hourlySendBudget',
      'allowedCountryCodes',
    ]);
  });

  it.each([
    [{ name: null }, 'name'],
    [{ name: 'a\u0007' }, 'name'],
    [{ name: '\ud800' }, 'name'],
    [{ hourlySendBudget: 1.5 }, 'hourlySendBudget'],
    [{ hourlySendBudget: 1_000_000_001 }, 'hourlySendBudget'],
    [{ allowedCountryCodes: ['+1234'] }, 'allowedCountryCodes'],
    [{ allowedCountryCodes: Array.from({ length: 301 }, () => '+91') }, 'allowedCountryCodes'],
    [{ messageTemplate: '{code} {unknown}' }, 'messageTemplate'],
  ])('refuses %j', (settings, field) => {
    expect(problems(() => checkSettings(settings)).map((p) => p.field)).toEqual([field]);
  });
});
